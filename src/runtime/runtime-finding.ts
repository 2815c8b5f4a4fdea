import type { Finding } from '../findings.js';
import type { Attribution } from './types.js';

/** The kinds of runtime findings. */
export type RuntimeFindingKind =
  | 'noisy-neighbour'
  | 'idle-in-transaction-blocker'
  | 'connection-limit'
  | 'lock-wait'
  | 'deadlock'
  | 'pool-contention'
  | 'pool-exhausted'
  | 'replica-xmin-holdback'
  | 'recovery-conflict';

/** A service in a runtime finding and the part it plays. */
export interface RuntimeParty {
  service: string;
  attribution: Attribution | 'unknown-process';
  as: 'noisy' | 'slowed' | 'waiting' | 'holding' | 'at-limit' | 'refused' | 'deadlocked' | 'victim';
  pid?: number;
}

/** A slowed service's figures: its own baseline → while the noisy service was loud. */
export interface SlowedFigures {
  service: string;
  /** Mean statement time, ms. */
  meanStatementMs?: { before: number; after: number };
  callsPerSecond?: { before: number; after: number };
  /** Which moved beyond the thresholds, with statistical evidence. */
  slower?: boolean;
  fewer?: boolean;
  /** Named because the CPUs were saturated, not from its own figures. */
  starved?: boolean;
}

/** What a noisy-neighbour finding measured: the noisy service, its statement and each slowed service. */
export interface NoisyNeighbourDetail {
  noisy: string;
  /** The noisy service's longest-running (or most time-consuming) statement, when seen. */
  statement: string | null;
  /** The first sample in which it was loud (server time, ISO). */
  since: string | null;
  slowed: SlowedFigures[];
}

/** A Finding about runtime behaviour, with the services on every side and when it was seen. */
export interface RuntimeFinding extends Finding {
  kind: RuntimeFindingKind;
  parties: RuntimeParty[];
  /** Server time it was seen (ISO), when known. */
  at: string | null;
  /** For noisy-neighbour findings: the figures behind the message. */
  noisyNeighbour?: NoisyNeighbourDetail;
}
