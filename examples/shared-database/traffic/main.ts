import { parseArgs } from 'node:util';
import { startTraffic } from './generator.js';

// Usage: node traffic/main.js --users URL --invoicing URL --reporting URL [--rate N] [--duration S] [--interval S]
// Prints one JSON line of stats every interval and a final one; stops on SIGINT/SIGTERM, after --duration,
// or when PGPACT_PARENT_PID is gone.

const USAGE =
  'usage: traffic --users URL --invoicing URL --reporting URL [--rate N (default 50)] [--duration S] [--interval S (default 10)]';

function fail(message: string): never {
  process.stderr.write(`traffic: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      users: { type: 'string' },
      invoicing: { type: 'string' },
      reporting: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      interval: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const url = (name: string): string => {
  const value = values[name];
  if (typeof value !== 'string') fail(`--${name} is required`);
  try {
    new URL(value);
  } catch {
    fail(`--${name} is not a URL`);
  }
  return value.replace(/\/$/, '');
};
const positive = (name: string, fallback: number | undefined): number | undefined => {
  const value = values[name];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !(n > 0)) fail(`--${name} must be a positive number`);
  return n;
};

const targets = { users: url('users'), invoicing: url('invoicing'), reporting: url('reporting') };
const rate = positive('rate', 50)!;
const duration = positive('duration', undefined);
const interval = positive('interval', 10)!;

const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());
const parentPid = Number(process.env.PGPACT_PARENT_PID ?? 0);
if (parentPid > 0) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      controller.abort();
    }
  }, 200).unref();
}

try {
  const traffic = await startTraffic({
    targets,
    ratePerSecond: rate,
    durationMs: duration === undefined ? undefined : duration * 1000,
    signal: controller.signal,
  });
  process.stdout.write(
    `${JSON.stringify({ event: 'traffic-started', rate, targets, pid: process.pid })}\n`,
  );
  let from = traffic.startedAt;
  const report = setInterval(() => {
    const to = Date.now();
    process.stdout.write(`${JSON.stringify({ event: 'traffic', ...traffic.stats(from, to) })}\n`);
    from = to;
  }, interval * 1000);
  const final = await traffic.done;
  clearInterval(report);
  process.stdout.write(`${JSON.stringify({ event: 'traffic-final', ...final })}\n`);
  process.exitCode = final.total.errors > 0 ? 1 : 0;
} catch (error) {
  process.stderr.write(`traffic: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
