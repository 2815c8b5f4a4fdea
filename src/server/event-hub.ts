import type { IncomingMessage, ServerResponse } from 'node:http';

/** One Server-Sent Event: a name and a JSON-serialisable payload. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

function frame(e: ServerEvent): string {
  // JSON never contains a raw newline, so one data: line carries the whole payload.
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** Keeps the open /api/events streams and sends each event to all of them. */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(keepAliveMs = 15_000) {
    // A comment line now and then keeps proxies from closing idle streams.
    this.keepAlive = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n');
    }, keepAliveMs);
    this.keepAlive.unref();
  }

  /** Number of open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** Opens a stream on a response and sends the initial events. */
  attach(req: IncomingMessage, res: ServerResponse, initial: ServerEvent[]): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    for (const e of initial) res.write(frame(e));
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('error', drop);
  }

  /** Sends one event to every open stream. */
  broadcast(e: ServerEvent): void {
    const text = frame(e);
    for (const res of this.clients) res.write(text);
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
