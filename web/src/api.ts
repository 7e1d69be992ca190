import type { ApiErrorBody } from "./logic/fieldErrors";

/** An error answer of the API ({success: false, error: {code, message, details}}) or a
 * network failure (status 0, code "network"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
  get code(): string {
    return this.body.code;
  }
}

type TokenSource = () => Promise<string | null>;

function newKey(): string {
  return crypto.randomUUID();
}

/** The HTTP API behind Hosting's /api/<resource> rewrites, called with the user's ID token. */
export class Api {
  /** Called after every answer with the method and path (the UI refreshes today's API-call
   * usage after the calls it makes — not after the usage call itself). */
  onCall: ((method: string, path: string) => void) | null = null;

  constructor(
    private readonly token: TokenSource,
    private readonly base = "/api",
  ) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { idempotencyKey?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {};
    const token = await this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, { code: "network", message: `The API is unreachable (${String(error)})` });
    }
    let payload: unknown = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    this.onCall?.(method, path);
    const envelope = payload as { success?: boolean; data?: T; error?: ApiErrorBody } | null;
    if (!response.ok || !envelope || envelope.success !== true) {
      const error = envelope?.error ?? {
        code: `http_${response.status}`,
        message: `The API answered ${response.status} ${response.statusText}`,
      };
      throw new ApiError(response.status, error);
    }
    return envelope.data as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** A create, with an Idempotency-Key: the same key re-sent (a retry, a double submit)
   * returns the first result instead of creating twice. */
  create<T>(path: string, body: unknown, key: string = newKey()): Promise<T> {
    return this.request<T>("POST", path, body, { idempotencyKey: key });
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body ?? {});
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }
}

export function newIdempotencyKey(): string {
  return newKey();
}
