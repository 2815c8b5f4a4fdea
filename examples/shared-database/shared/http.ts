import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** An error a handler throws to answer with a status and a JSON body `{ error: { code, message } }`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}

/** What a route handler returns: a status and a JSON body. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/** One request as a handler sees it: path parameters, query and (lazily) the JSON body. */
export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body(): Promise<unknown>;
}

/** A route: method, a path pattern such as `/accounts/:id`, and its handler. */
export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  pattern: string;
  handle(request: RouteRequest): Promise<JsonResponse>;
}

const MAX_BODY_BYTES = 64 * 1024;

/** Writes a JSON response (once; a response already sent is left alone). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Reads and parses a JSON request body of at most 64 KiB. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'body_missing', 'a JSON body is required');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'body_invalid_json', 'the body is not valid JSON');
  }
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    let g: string;
    try {
      g = decodeURIComponent(got[i]!);
    } catch {
      return undefined;
    }
    if (w.startsWith(':')) params[w.slice(1)] = g;
    else if (w !== g) return undefined;
  }
  return params;
}

/**
 * Builds a request listener from routes. Unknown paths answer 404, known paths with
 * another method 405; errors become JSON (HttpError as is, anything else through toHttpError).
 */
export function createRouter(
  routes: Route[],
  toHttpError: (error: unknown) => HttpError,
  onServerError: (error: unknown, request: string) => void = () => undefined,
): RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const request = `${req.method} ${url.pathname}`;
    const respond = async (): Promise<JsonResponse> => {
      const matching = routes
        .map((route) => ({ route, params: matchPattern(route.pattern, url.pathname) }))
        .filter((m) => m.params !== undefined);
      if (matching.length === 0)
        throw new HttpError(404, 'not_found', `no route for ${url.pathname}`);
      const hit = matching.find((m) => m.route.method === req.method);
      if (!hit) {
        res.setHeader('allow', matching.map((m) => m.route.method).join(', '));
        throw new HttpError(
          405,
          'method_not_allowed',
          `${req.method} is not allowed on ${url.pathname}`,
        );
      }
      return hit.route.handle({
        params: hit.params!,
        query: url.searchParams,
        body: () => readJsonBody(req),
      });
    };
    respond().then(
      (answer) => sendJson(res, answer.status, answer.body),
      (error: unknown) => {
        const httpError = error instanceof HttpError ? error : toHttpError(error);
        if (httpError.status >= 500) onServerError(error, request);
        sendJson(res, httpError.status, {
          error: { code: httpError.code, message: httpError.message },
        });
        // A body we did not read must not linger on a keep-alive connection.
        if (!req.readableEnded) req.resume();
      },
    );
  };
}
