/**
 * Database time per service per interval. pg_stat_statements counts a
 * statement's time only when it completes (and never when it fails, e.g. on
 * statement_timeout), so a 30-second report would be invisible while it runs.
 * The running part of active statements is counted as it happens; when such a
 * statement completes, the time already counted is a debt paid from the role's
 * next pg_stat_statements delta so nothing is counted twice. Debts not paid
 * within a few seconds (failed or untracked statements) are forgiven: that time
 * was real and stays counted.
 */

/** An active statement as the sampler saw it. */
export interface RunningStatement {
  pid: number;
  /** query_start, as a stable key of this execution. */
  queryStart: string;
  role: string;
  service: string;
  /** How long it has run. */
  elapsedMs: number;
}

interface Inflight {
  role: string;
  service: string;
  countedMs: number;
}

interface Debt {
  ms: number;
  sinceMs: number;
}

const DEBT_LIFETIME_MS = 5_000;

/** Accumulates the database time of running and completed statements without double counting. */
export class DbTimeAccounting {
  private inflight = new Map<string, Inflight>();
  private readonly debts = new Map<string, Debt>();
  private started = false;

  /**
   * Adds one interval: the running statements now, and the completed statements'
   * time per role (from pg_stat_statements deltas). Returns database time per service.
   */
  account(
    nowMs: number,
    intervalMs: number | null,
    running: RunningStatement[],
    completedByRole: Map<string, number>,
    serviceOfRole: (role: string) => string,
  ): Map<string, number> {
    const perService = new Map<string, number>();
    const add = (service: string, ms: number) => {
      if (ms > 0) perService.set(service, (perService.get(service) ?? 0) + ms);
    };
    const next = new Map<string, Inflight>();
    for (const r of running) {
      const key = `${r.pid}:${r.queryStart}`;
      const before = this.inflight.get(key);
      let increment = 0;
      if (before) increment = r.elapsedMs - before.countedMs;
      else if (this.started && intervalMs !== null) increment = Math.min(r.elapsedMs, intervalMs);
      add(r.service, Math.max(0, increment));
      next.set(key, { role: r.role, service: r.service, countedMs: r.elapsedMs });
    }
    // Statements seen running that are gone have completed (or failed): their counted time is owed.
    for (const [key, gone] of this.inflight) {
      if (next.has(key)) continue;
      const debt = this.debts.get(gone.role) ?? { ms: 0, sinceMs: nowMs };
      debt.ms += gone.countedMs;
      debt.sinceMs = nowMs;
      this.debts.set(gone.role, debt);
    }
    this.inflight = next;
    for (const [role, ms] of completedByRole) {
      const debt = this.debts.get(role);
      const paid = debt ? Math.min(debt.ms, ms) : 0;
      if (debt) {
        debt.ms -= paid;
        if (debt.ms <= 0.001) this.debts.delete(role);
      }
      add(serviceOfRole(role), ms - paid);
    }
    for (const [role, debt] of this.debts) {
      if (nowMs - debt.sinceMs > DEBT_LIFETIME_MS) this.debts.delete(role);
    }
    this.started = true;
    return perService;
  }
}
