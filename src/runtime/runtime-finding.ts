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

/** A Finding about runtime behaviour, with the services on every side and when it was seen. */
export interface RuntimeFinding extends Finding {
  kind: RuntimeFindingKind;
  parties: RuntimeParty[];
  /** Server time it was seen (ISO), when known. */
  at: string | null;
}
