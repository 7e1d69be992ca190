"""Entry points: HTTP plumbing (envelope, errors, body parsing, routing, CORS) and the thin
handlers that main.py's declared functions call."""
