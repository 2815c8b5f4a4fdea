import { PgpactError } from '../../errors.js';
import { formatLogReport, type LogReportFormat } from '../../report/format-log-report.js';
import { buildLogReport } from '../../report/log-report.js';
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
  summary: 'what happened per service over a period, after the fact, from the server log',
  usage: `pgpact report --log-file FILE [--since 1h] [--log-line-prefix PREFIX] [--config FILE]
                     [--format text|json|markdown|html]

  Reads the server log from its start (stderr with any log_line_prefix, csvlog or jsonlog)
  and tells, per service: database time, its share, calls, mean and p95 statement time
  (from duration lines: set log_min_duration_statement, 0 for every statement), lock waits
  as waiter and as holder, deadlocks, timeouts (statement_timeout, lock_timeout,
  idle_in_transaction_session_timeout), cancellations and refused connections; the
  statements with the most database time; every lock wait with the waiting and the holding
  service and the holder's statement that took the lock when the log has it; every deadlock
  with all its sides. Services come from the manifest (--config, or ./pgpact.yaml when
  present); without one, each role is a service.

  --log-file FILE         the server log (required)
  --since D               only what happened in the last D: 30min, 1h, 2d (default: the whole log)
  --log-line-prefix P     the server's log_line_prefix (default: guessed line by line)
  --format F              text (default), json, markdown, html (one self-contained page with a chart)

  exit codes: 0 report printed, 2 invalid input (unreadable log, bad option)`,
  options: {
    'log-file': { type: 'string' },
    since: { type: 'string' },
    'log-line-prefix': { type: 'string' },
    format: { type: 'string' },
  },
  async run({ values }, output) {
    const logFile = values['log-file'];
    if (typeof logFile !== 'string') {
      throw new PgpactError('USAGE', 'pgpact report needs --log-file', {
        hint: 'pass the server log, e.g. --log-file /var/log/postgresql/postgresql-16-main.log',
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
    const report = await buildLogReport({
      logFile,
      ...(manifest ? { manifest } : {}),
      ...(typeof values['log-line-prefix'] === 'string'
        ? { prefix: values['log-line-prefix'] }
        : {}),
      ...(typeof values.since === 'string'
        ? { sinceMs: Date.now() - parseSince(values.since) }
        : {}),
    });
    output.out(formatLogReport(report, format as LogReportFormat));
    return EXIT.ok;
  },
};
