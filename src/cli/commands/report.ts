import { PgpactError } from '../../errors.js';
import { formatLogReport, type LogReportFormat } from '../../report/format-log-report.js';
import path from 'node:path';
import { defaultStateDir } from '../../postgres/embedded.js';
import { formatSnapshotReport } from '../../report/format-snapshot-report.js';
import { buildLogReport, type LogReport } from '../../report/log-report.js';
import {
  readStatementSnapshots,
  SNAPSHOTS_FILE,
  type SnapshotReport,
  summarizeSnapshots,
} from '../../report/statement-snapshots.js';
import { type Command, EXIT } from '../command.js';
import { optionalManifest } from './top.js';

/** `--since 1h` → milliseconds: s, min, h, d. */
function parseSince(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d)\s*$/.exec(text);
  const factor = { s: 1000, min: 60_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match?.[2] ?? ''];
  if (!match || factor === undefined) {
    throw new PgpactError('USAGE', `--since ${JSON.stringify(text)} is not a duration`, {
      hint: 'write e.g. 30min, 1h or 2d',
    });
  }
  return Number(match[1]) * factor;
}

/** `pgpact report`: what happened per service over a period, from the server log. */
export const reportCommand: Command = {
  name: 'report',
  summary: 'what happened per service over a period, after the fact, from the log and snapshots',
  usage: `pgpact report [--log-file FILE] [--since 1h] [--log-line-prefix PREFIX] [--config FILE]
                     [--snapshots FILE] [--format text|json|markdown|html]

  Reads the server log from its start (stderr with any log_line_prefix, csvlog or jsonlog)
  and tells, per service: database time, its share, calls, mean and p95 statement time
  (from duration lines: set log_min_duration_statement, 0 for every statement), lock waits
  as waiter and as holder, deadlocks, timeouts (statement_timeout, lock_timeout,
  idle_in_transaction_session_timeout), cancellations and refused connections; the
  statements with the most database time; every lock wait with the waiting and the holding
  service and the holder's statement that took the lock when the log has it; every deadlock
  with all its sides. Services come from the manifest (--config, or ./pgpact.yaml when
  present); without one, each role is a service.

  With --since, it also reads the pg_stat_statements snapshots pgpact metrics keeps
  (.pgpact/statement-snapshots.jsonl): database time, calls and mean per service and per
  statement over the period, from counter deltas (no p95: only the log has single
  durations). With both, the log gives the events and the snapshots the totals.

  --log-file FILE         the server log (required without --since)
  --snapshots FILE        the snapshots file (default: .pgpact/statement-snapshots.jsonl)
  --since D               only what happened in the last D: 30min, 1h, 2d (default: the whole log)
  --log-line-prefix P     the server's log_line_prefix (default: guessed line by line)
  --format F              text (default), json, markdown, html (one self-contained page with a chart)

  exit codes: 0 report printed, 2 invalid input (unreadable log, bad option)`,
  options: {
    'log-file': { type: 'string' },
    snapshots: { type: 'string' },
    since: { type: 'string' },
    'log-line-prefix': { type: 'string' },
    format: { type: 'string' },
  },
  async run({ values }, output) {
    const logFile = values['log-file'];
    const since = typeof values.since === 'string' ? parseSince(values.since) : undefined;
    if (typeof logFile !== 'string' && since === undefined) {
      throw new PgpactError('USAGE', 'pgpact report needs --log-file or --since', {
        hint: 'pass the server log (--log-file /var/log/postgresql/postgresql-16-main.log), or --since 1h to read the snapshots pgpact metrics keeps',
      });
    }
    const format = typeof values.format === 'string' ? values.format : 'text';
    if (!['text', 'json', 'markdown', 'html'].includes(format)) {
      throw new PgpactError(
        'USAGE',
        `--format ${JSON.stringify(format)} is not text, json, markdown or html`,
      );
    }
    const manifest = optionalManifest(values);
    const sinceMs = since === undefined ? undefined : Date.now() - since;
    let log: LogReport | undefined;
    if (typeof logFile === 'string') {
      log = await buildLogReport({
        logFile,
        ...(manifest ? { manifest } : {}),
        ...(typeof values['log-line-prefix'] === 'string'
          ? { prefix: values['log-line-prefix'] }
          : {}),
        ...(sinceMs === undefined ? {} : { sinceMs }),
      });
    }
    let snapshots: SnapshotReport | undefined;
    if (sinceMs !== undefined) {
      const file =
        typeof values.snapshots === 'string'
          ? values.snapshots
          : path.join(defaultStateDir(), SNAPSHOTS_FILE);
      const read = readStatementSnapshots(file);
      if (read.length > 0 || log === undefined) {
        snapshots = summarizeSnapshots(read, { file, sinceMs, ...(manifest ? { manifest } : {}) });
      }
    }
    if (format === 'json') {
      output.out(
        `${JSON.stringify({ ...(log ?? {}), ...(snapshots ? { snapshots } : {}) }, null, 2)}\n`,
      );
    } else if (format === 'html' && snapshots) {
      const section = `<h2>From pg_stat_statements snapshots</h2><pre>${escapeHtml(formatSnapshotReport(snapshots, false))}</pre>`;
      output.out(
        log
          ? formatLogReport(log, 'html').replace('</body>', `${section}</body>`)
          : `<!doctype html>\n<html><head><meta charset="utf-8"><title>pgpact report</title></head><body>${section}</body></html>\n`,
      );
    } else if (snapshots === undefined) {
      if (log) output.out(formatLogReport(log, format as LogReportFormat));
    } else {
      if (log) output.out(formatLogReport(log, format as LogReportFormat));
      output.out(formatSnapshotReport(snapshots, format === 'markdown'));
    }
    return EXIT.ok;
  },
};

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
