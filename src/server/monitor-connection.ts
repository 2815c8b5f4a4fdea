import type pg from 'pg';
import { isServerError } from '../errors.js';
import { connect, type Queryable } from '../postgres/client.js';

/**
 * One long-lived connection as the monitoring role, reopened on the next use after
 * it breaks (a restarted server, a killed backend), so sampling every second does
 * not open a session every second.
 */
export class MonitorConnection implements Queryable {
  private client: pg.Client | undefined;
  private opening: Promise<pg.Client> | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly applicationName = 'pgpact dashboard',
  ) {}

  private async current(): Promise<pg.Client> {
    if (this.closed) throw new Error('the monitoring connection is closed');
    if (this.client) return this.client;
    this.opening ??= connect(this.url, {
      applicationName: this.applicationName,
      connectTimeoutMs: 5000,
    }).then(
      (client) => {
        client.on('error', () => this.drop(client));
        client.on('end', () => this.drop(client));
        this.client = client;
        this.opening = undefined;
        return client;
      },
      (error) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
  }

  /** Runs one query; a connection error drops the client so the next query reconnects. */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const client = await this.current();
    try {
      return await client.query<R>(sql, params);
    } catch (error) {
      // Server errors carry a SQLSTATE; anything else means the connection is unusable.
      if (!isServerError(error)) {
        this.drop(client);
        await client.end().catch(() => undefined);
      }
      throw error;
    }
  }

  /** Closes the connection for good. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.opening?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
