import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { PgpactError } from '../errors.js';
import type { DashboardEventName } from './api-types.js';
import {
  hostHeaderIsLocal,
  isLoopbackHost,
  presentedToken,
  tokenCookie,
  tokenMatches,
} from './auth.js';
import { parseCheckReport } from './check-report.js';
import type { DashboardModel } from './dashboard-model.js';
import { EventHub } from './event-hub.js';
import {
  HttpError,
  type RequestContext,
  Router,
  readBody,
  SECURITY_HEADERS,
  sendJson,
} from './router.js';
import type { Asset } from './static-assets.js';

/** Largest check report accepted by POST /api/check-report. */
const MAX_REPORT_BYTES = 5 * 1024 * 1024;

/** A handler for /metrics (Prometheus text), mounted when the runtime module provides one. */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface DashboardHttpOptions {
  model: DashboardModel;
  assets: Map<string, Asset>;
  /** The listen address, for the DNS-rebinding guard of tokenless loopback servers. */
  host: string;
  /** Required from every request when set. */
  token?: string;
  metrics?: MetricsHandler;
}

const SECTION_EVENTS: Record<string, DashboardEventName> = {
  '/api/map': 'map',
  '/api/migrations': 'migrations',
  '/api/runtime': 'runtime',
  '/api/check-report': 'check-report',
};

function sectionOf(model: DashboardModel, event: DashboardEventName) {
  const s = model.state;
  return event === 'map'
    ? s.map
    : event === 'migrations'
      ? s.migrations
      : event === 'runtime'
        ? s.runtime
        : s.checkReport;
}

function unauthorizedPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pgpact dashboard: token required</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>A token is required</h1>
<p>This pgpact dashboard is protected by a token. Open it with <code>?token=YOUR_TOKEN</code> once
(the page then keeps it in a cookie), or send <code>Authorization: Bearer YOUR_TOKEN</code>.</p>
</body></html>`;
}

/** Builds the routes of the dashboard: the page, the JSON API, the event stream and /metrics. */
export function dashboardRouter(options: DashboardHttpOptions, hub: EventHub): Router {
  const { model, assets } = options;
  const router = new Router();
  for (const [path, asset] of assets) {
    router.on('GET', path, ({ res }) => {
      res.writeHead(200, {
        'Content-Type': asset.contentType,
        'Content-Length': asset.body.length,
      });
      res.end(res.req.method === 'HEAD' ? undefined : asset.body);
    });
  }
  router.on('GET', '/api/health', ({ res }) => sendJson(res, 200, { ok: true }));
  router.on('GET', '/api/state', ({ res }) => sendJson(res, 200, model.state));
  for (const [path, event] of Object.entries(SECTION_EVENTS)) {
    router.on('GET', path, ({ res }) => sendJson(res, 200, sectionOf(model, event)));
  }
  router.on('POST', '/api/check-report', async ({ req, res, url }) => {
    // Only JSON bodies: a cross-site form cannot send one without a CORS preflight, which we never answer.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new HttpError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send the report as Content-Type: application/json',
      );
    }
    const text = await readBody(req, MAX_REPORT_BYTES);
    const source = (url.searchParams.get('source') ?? 'upload').slice(0, 200);
    const report = parseCheckReport(text, source);
    await model.setCheckReport(report);
    sendJson(res, 200, model.state.checkReport);
  });
  router.on('DELETE', '/api/check-report', async ({ res }) => {
    await model.setCheckReport(null);
    sendJson(res, 200, model.state.checkReport);
  });
  router.on('GET', '/api/events', ({ req, res }) => {
    hub.attach(req, res, [
      { event: 'map', data: model.state.map },
      { event: 'migrations', data: model.state.migrations },
      { event: 'runtime', data: model.state.runtime },
      { event: 'check-report', data: model.state.checkReport },
    ]);
  });
  const metrics = options.metrics;
  if (metrics) router.on('GET', '/metrics', ({ req, res }) => metrics(req, res));
  return router;
}

/** Checks a request's token (or Host, for a tokenless loopback server); answers and returns false when refused. */
function admit(ctx: RequestContext, options: DashboardHttpOptions): boolean {
  const { req, res, url } = ctx;
  if (url.pathname === '/api/health') return true;
  const token = options.token;
  if (token === undefined) {
    if (isLoopbackHost(options.host) && !hostHeaderIsLocal(req.headers.host)) {
      sendJson(res, 403, {
        error: 'FORBIDDEN_HOST',
        message: 'this dashboard only answers to localhost names',
      });
      return false;
    }
    return true;
  }
  if (tokenMatches(token, presentedToken(req))) return true;
  const queryToken = url.searchParams.get('token');
  if (url.pathname === '/' && queryToken !== null && tokenMatches(token, queryToken)) {
    // Keep the token in an HttpOnly cookie and drop it from the address bar and history.
    url.searchParams.delete('token');
    res.writeHead(303, { 'Set-Cookie': tokenCookie(token), Location: `/${url.search}` });
    res.end();
    return false;
  }
  res.setHeader('WWW-Authenticate', 'Bearer realm="pgpact dashboard"');
  if (url.pathname === '/' && req.method === 'GET') {
    res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(unauthorizedPage());
  } else {
    sendJson(res, 401, {
      error: 'UNAUTHORIZED',
      message: 'a valid token is required (Authorization: Bearer TOKEN)',
    });
  }
  return false;
}

/** Creates the node:http server of the dashboard (not listening yet) and its event hub. */
export function createDashboardHttpServer(options: DashboardHttpOptions): {
  server: http.Server;
  hub: EventHub;
} {
  const hub = new EventHub();
  const router = dashboardRouter(options, hub);
  options.model.onChange((event, section) => hub.broadcast({ event, data: section }));
  const server = http.createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    } catch {
      sendJson(res, 400, { error: 'BAD_REQUEST', message: 'malformed URL' });
      return;
    }
    const ctx: RequestContext = { req, res, url };
    if (!admit(ctx, options)) return;
    router.handle(ctx).catch((error: unknown) => answerError(res, error));
  });
  server.on('close', () => hub.close());
  return { server, hub };
}

function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: error.code, message: error.message });
  } else if (error instanceof PgpactError) {
    sendJson(res, 400, {
      error: error.code,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      problems: error.problems.map((p) => p.message),
    });
  } else {
    sendJson(res, 500, {
      error: 'INTERNAL',
      message: 'the dashboard failed to answer; see its log',
    });
  }
}
