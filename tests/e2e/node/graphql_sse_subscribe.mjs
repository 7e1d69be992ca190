// Subscribes with the graphql-sse client (distinct connections mode) and prints one JSON line
// per happening: {"type":"connected","retry":bool}, {"type":"next","result":...},
// {"type":"complete"} or {"type":"error","message":...}. Every reconnection sends the last
// result's extensions.cursor as Last-Event-ID, as the gateway's reconnect contract says.
// Input (environment): GRAPHQL_URL, AUTHORIZATION, QUERY, VARIABLES (JSON).
import { createClient } from 'graphql-sse';

const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');
let cursor = null;

const client = createClient({
  url: process.env.GRAPHQL_URL,
  headers: () => {
    const headers = { Authorization: process.env.AUTHORIZATION };
    if (cursor) headers['Last-Event-ID'] = cursor;
    return headers;
  },
  retryAttempts: 20,
  retry: () => new Promise((resolve) => setTimeout(resolve, 100)),
  on: { connected: (retry) => print({ type: 'connected', retry }) },
});

client.subscribe(
  { query: process.env.QUERY, variables: JSON.parse(process.env.VARIABLES || '{}') },
  {
    next: (result) => {
      if (result.extensions && result.extensions.cursor) cursor = result.extensions.cursor;
      print({ type: 'next', result });
    },
    error: (error) => {
      print({ type: 'error', message: String(error && (error.message || error.statusText || error)) });
      client.dispose();
      process.exit(1);
    },
    complete: () => {
      print({ type: 'complete' });
      client.dispose();
      process.exit(0);
    },
  },
);
