import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request as a handler sees it. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/** Headers every response carries: no framing, no sniffing, no referrer, only our own scripts. */
export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Cache-Control': 'no-store',
};

/** A small exact-path router: method + path → handler, with 404 and 405 answers. */
export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();

  /** Registers a handler for one method and exact path. */
  on(method: string, path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(path, byMethod);
    }
    byMethod.set(method, handler);
    if (method === 'GET' && !byMethod.has('HEAD')) byMethod.set('HEAD', handler);
    return this;
  }

  /** Whether a path has any route (for deciding between 401 and 404). */
  has(path: string): boolean {
    return this.routes.has(path);
  }

  /** Dispatches a request; answers 404/405 itself. */
  async handle(ctx: RequestContext): Promise<void> {
    const byMethod = this.routes.get(ctx.url.pathname);
    if (!byMethod) {
      sendJson(ctx.res, 404, { error: 'NOT_FOUND', message: `no such path: ${ctx.url.pathname}` });
      return;
    }
    const handler = byMethod.get(ctx.req.method ?? 'GET');
    if (!handler) {
      ctx.res.setHeader('Allow', [...byMethod.keys()].join(', '));
      sendJson(ctx.res, 405, {
        error: 'METHOD_NOT_ALLOWED',
        message: `${ctx.req.method} is not allowed on ${ctx.url.pathname}`,
      });
      return;
    }
    await handler(ctx);
  }
}

/** Sends a JSON body with the given status. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

/** An error a handler raises to answer with a status and a stable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** Reads a request body as text, refusing more than limitBytes. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limitBytes)
    throw new HttpError(413, 'TOO_LARGE', `the body is larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes)
      throw new HttpError(413, 'TOO_LARGE', `the body is larger than ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
