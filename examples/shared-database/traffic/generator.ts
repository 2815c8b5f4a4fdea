import http from 'node:http';
import { seededRandom } from '../setup/sample-data.js';
import { type HttpAnswer, requestJson } from './http-client.js';
import {
  type KnownIds,
  OPERATIONS,
  type Operation,
  pickOperation,
  type TrafficTargets,
} from './operations.js';
import { TrafficRecorder, type TrafficStats } from './stats.js';

/** How to drive traffic. */
export interface TrafficOptions {
  targets: TrafficTargets;
  /** Requests started per second, steadily (open loop). Default 100. */
  ratePerSecond?: number;
  /** At most this many requests in flight; beyond it a due request is skipped and counted. Default 16. */
  maxInFlight?: number;
  /** Stop by itself after this long. Default: run until stop() or the signal. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Seed of the mix (same seed, same sequence of operations). */
  seed?: number;
  operations?: Operation[];
}

/** A running traffic generator. */
export interface Traffic {
  /** Epoch ms when the steady phase started (after the warm-up). */
  readonly startedAt: number;
  /** Stats over [from, to]; defaults to everything since startedAt. */
  stats(from?: number, to?: number): TrafficStats;
  /**
   * Points a service at another URL (a new instance during a deploy): requests from now on
   * go there. Settles once the requests still in flight to the old URL have been answered,
   * with how many there were, so the old instance can then drain without failing any.
   */
  setTarget(service: keyof TrafficTargets, url: string): Promise<{ inFlightAtSwitch: number }>;
  /** Stops starting requests, waits for those in flight, returns the stats since startedAt. */
  stop(): Promise<TrafficStats>;
  /** Settles when the generator stopped (duration, signal or stop()). */
  readonly done: Promise<TrafficStats>;
}

/**
 * Starts a steady, realistic mix of requests against the three services. A short
 * warm-up learns existing account ids and creates a few invoices so reads have targets.
 */
export async function startTraffic(options: TrafficOptions): Promise<Traffic> {
  const targets: TrafficTargets = { ...options.targets };
  const rate = options.ratePerSecond ?? 100;
  const maxInFlight = options.maxInFlight ?? 16;
  if (!(rate > 0) || !(maxInFlight > 0))
    throw new Error('ratePerSecond and maxInFlight must be positive');
  const operations = options.operations ?? OPERATIONS;
  const random = seededRandom(options.seed ?? 42);
  // One keep-alive agent per service: when a service moves (setTarget, e.g. after a restart)
  // its requests get a fresh agent, never a pooled socket the stopped process already closed.
  const newAgent = () => new http.Agent({ keepAlive: true, maxSockets: maxInFlight + 4 });
  const agents: Record<keyof TrafficTargets, http.Agent> = {
    users: newAgent(),
    invoicing: newAgent(),
    reporting: newAgent(),
  };
  const retired: http.Agent[] = [];
  // Requests in flight per agent: a retired agent's are waited for before its target is let go.
  const inFlightOn = new Map<http.Agent, Set<Promise<void>>>();
  const recorder = new TrafficRecorder(['users', 'invoicing', 'reporting']);
  const ids: KnownIds = { accounts: [], invoices: [] };
  const inFlight = new Set<Promise<void>>();

  const run = (op: Operation): Promise<void> => {
    const begin = performance.now();
    const agent = agents[op.service];
    const p = op
      .send(targets, ids, random, agent)
      .then((answer) => {
        const ok = answer.status >= 200 && answer.status < 300;
        const message = answer.error ?? JSON.stringify(answer.body ?? '').slice(0, 200);
        recorder.record(
          {
            at: Date.now(),
            service: op.service,
            operation: op.name,
            ms: performance.now() - begin,
            ok,
          },
          ok ? undefined : { status: answer.status, message },
        );
      })
      .finally(() => {
        inFlight.delete(p);
        inFlightOn.get(agent)?.delete(p);
      });
    inFlight.add(p);
    const onAgent = inFlightOn.get(agent) ?? new Set<Promise<void>>();
    inFlightOn.set(agent, onAgent);
    onAgent.add(p);
    return p;
  };

  await warmUp(targets, ids, agents, random);

  const startedAt = Date.now();
  const startedMono = performance.now();
  let launched = 0;
  let stopped = false;
  let resolveDone!: (stats: TrafficStats) => void;
  const done = new Promise<TrafficStats>((resolve) => {
    resolveDone = resolve;
  });

  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - startedMono) * rate) / 1000) - launched;
    for (let i = 0; i < due; i++) {
      launched += 1;
      if (inFlight.size >= maxInFlight) recorder.recordSkipped(Date.now());
      else void run(pickOperation(operations, random));
    }
  }, 10);

  const stop = async (): Promise<TrafficStats> => {
    if (!stopped) {
      stopped = true;
      clearInterval(tick);
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      await Promise.allSettled([...inFlight]);
      for (const agent of [...Object.values(agents), ...retired]) agent.destroy();
      resolveDone(recorder.stats(startedAt));
    }
    return done;
  };
  const onAbort = () => void stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.durationMs === undefined ? undefined : setTimeout(onAbort, options.durationMs);
  if (options.signal?.aborted) void stop();

  return {
    startedAt,
    stats: (from = startedAt, to = Date.now()) => recorder.stats(from, to),
    setTarget: async (service, url) => {
      const old = agents[service];
      targets[service] = url;
      retired.push(old);
      agents[service] = newAgent();
      const pending = [...(inFlightOn.get(old) ?? [])];
      await Promise.allSettled(pending);
      inFlightOn.delete(old);
      // The client closes its idle sockets to the old instance: nothing is left for it to cut.
      old.destroy();
      return { inFlightAtSwitch: pending.length };
    },
    stop,
    done,
  };
}

async function warmUp(
  targets: TrafficTargets,
  ids: KnownIds,
  agents: Record<keyof TrafficTargets, http.Agent>,
  random: () => number,
): Promise<void> {
  let after = 0;
  for (let page = 0; page < 5; page++) {
    const query = after === 0 ? '' : `&after=${after}`;
    const answer = await requestJson(
      agents.users,
      'GET',
      `${targets.users}/accounts?limit=100${query}`,
    );
    if (answer.status !== 200) throw warmUpError('GET /accounts', answer);
    const body = answer.body as { accounts: { id: number }[]; next_after: number | null };
    ids.accounts.push(...body.accounts.map((a) => a.id));
    if (body.next_after === null) break;
    after = body.next_after;
  }
  const create = OPERATIONS.find((o) => o.name === 'create-account')!;
  while (ids.accounts.length < 5) {
    const answer = await create.send(targets, ids, random, agents.users);
    if (answer.status !== 201) throw warmUpError('POST /accounts', answer);
  }
  const invoice = OPERATIONS.find((o) => o.name === 'create-invoice')!;
  for (let i = 0; i < 5; i++) {
    const answer = await invoice.send(targets, ids, random, agents.invoicing);
    if (answer.status !== 201) throw warmUpError('POST /invoices', answer);
  }
}

function warmUpError(request: string, answer: HttpAnswer): Error {
  const why = answer.error ?? JSON.stringify(answer.body ?? '').slice(0, 300);
  return new Error(`traffic warm-up: ${request} answered ${answer.status}: ${why}`);
}
