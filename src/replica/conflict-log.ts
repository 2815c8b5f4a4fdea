import type { Manifest } from '../manifest/types.js';
import { LogEntryParser } from '../runtime/log-entries.js';
import { parseLogTimestamp } from '../runtime/log-prefix.js';
import type { LogSource } from '../runtime/log-source.js';
import { nameService } from '../runtime/service-namer.js';
import type { RecoveryConflict } from './types.js';

const CONFLICT = /^(canceling statement|terminating connection) due to conflict with recovery/;

/**
 * Follows a replica's log for recovery conflicts (`canceling statement due to conflict
 * with recovery`) and names the service of each from the line prefix's user (%u).
 */
export class RecoveryConflictReader {
  private readonly parser: LogEntryParser;

  constructor(
    readonly source: LogSource,
    private readonly options: {
      server: string;
      manifest?: Manifest;
      prefix?: string;
      timeZone?: string;
    },
  ) {
    this.parser = new LogEntryParser(options.prefix);
  }

  /** The conflicts logged since the previous read. */
  async read(): Promise<RecoveryConflict[]> {
    const out: RecoveryConflict[] = [];
    for (const entry of this.parser.push(await this.source.read())) {
      const match = CONFLICT.exec(entry.message);
      if (!match || (entry.severity !== 'ERROR' && entry.severity !== 'FATAL')) continue;
      const atMs = entry.timestamp
        ? parseLogTimestamp(entry.timestamp, this.options.timeZone)
        : undefined;
      const role = entry.user === undefined || entry.user === '' ? null : entry.user;
      out.push({
        ...nameService(this.options.manifest, {
          role,
          applicationName: entry.application ?? null,
        }),
        server: this.options.server,
        at: atMs === undefined ? null : new Date(atMs).toISOString(),
        pid: entry.pid ?? null,
        role,
        applicationName: entry.application ?? null,
        action: match[1] === 'canceling statement' ? 'cancelled' : 'terminated',
        reason: entry.detail ?? null,
        statement: entry.statement ?? null,
      });
    }
    return out;
  }
}
