import type { ServiceProcess } from './service-process.js';
import { waitUntilReady } from './service-process.js';
import type { DemoService, RestartedService } from './types.js';

/** What a deploy needs from the environment that runs the service. */
export interface HandoverSteps {
  /** The instance serving now. */
  current: ServiceProcess;
  /** Starts the new instance on a free port (and records it as the service's). */
  startNew(): Promise<DemoService>;
  /** Puts the old instance back as the service's after the new one failed (it is stopped already). */
  keepOld(): Promise<void>;
  /** Moves the traffic to the new URL; settles once the old URL's in-flight requests were answered. */
  moveTraffic(url: string): Promise<{ inFlightAtSwitch: number }>;
  /** Stops the new instance after it failed its readiness check. */
  stopNew(): Promise<void>;
  signal?: AbortSignal;
}

/**
 * A deploy as teams do it behind a load balancer: the new instance starts next to the old
 * one, must answer its readiness check, takes the traffic, and only then the old one drains
 * (SIGTERM: stops accepting, finishes its requests, closes its sockets, exits). Measured.
 */
export async function deployWithHandover(steps: HandoverSteps): Promise<RestartedService> {
  const began = performance.now();
  let next: DemoService;
  try {
    next = await steps.startNew();
    await waitUntilReady(next.url, { signal: steps.signal });
  } catch (error) {
    // Not ready: the old instance keeps the traffic.
    await steps.stopNew().catch(() => undefined);
    await steps.keepOld();
    throw error;
  }
  const readyMs = performance.now() - began;
  const { inFlightAtSwitch } = await steps.moveTraffic(next.url);
  const drainBegan = performance.now();
  await steps.current.stop();
  const drainMs = performance.now() - drainBegan;
  const oldExitCode = await steps.current.exited;
  return {
    ...next,
    handover: {
      readyMs: Math.round(readyMs),
      inFlightAtSwitch,
      drainMs: Math.round(drainMs),
      oldExitCode,
    },
  };
}
