import { describe, expect, it } from 'vitest';
import { LogEntryParser } from '../../src/runtime/log-entries.js';
import { deadlockProcesses, interpretEntry } from '../../src/runtime/log-events.js';
import {
  compileLogLinePrefix,
  PGPACT_LOG_LINE_PREFIX,
  parseLogTimestamp,
} from '../../src/runtime/log-prefix.js';
import { describeLoggedLock } from '../../src/runtime/log-reader.js';
import { SessionDirectory } from '../../src/runtime/session-directory.js';

// Lines as PG 18 wrote them in a real run (user and application names with spaces).
const DEADLOCK_LOG = `2026-11-29 18:40:14.383 UTC [8480] user=B ü db=postgres app=[unknown] LOG:  connection authorized: user=B ü database=postgres application_name=svc b
2026-11-29 18:40:14.995 UTC [8480] user=B ü db=postgres app=svc b ERROR:  deadlock detected
2026-11-29 18:40:14.995 UTC [8480] user=B ü db=postgres app=svc b DETAIL:  Process 8480 waits for ShareLock on transaction 754; blocked by process 8479.
	Process 8479 waits for ShareLock on transaction 755; blocked by process 8480.
	Process 8480: UPDATE t SET v=2
	  WHERE id=1
	Process 8479: UPDATE t SET v=2 WHERE id=2
2026-11-29 18:40:14.995 UTC [8480] user=B ü db=postgres app=svc b HINT:  See server log for query details.
2026-11-29 18:40:14.995 UTC [8480] user=B ü db=postgres app=svc b CONTEXT:  while updating tuple (0,1) in relation "t"
2026-11-29 18:40:14.995 UTC [8480] user=B ü db=postgres app=svc b STATEMENT:  UPDATE t SET v=2
	  WHERE id=1
`;

describe('log_line_prefix compiled into a parser', () => {
  it("reads pgpact's prefix with spaces in user and application names", () => {
    const parse = compileLogLinePrefix(PGPACT_LOG_LINE_PREFIX);
    expect(
      parse(
        '2026-11-29 18:40:14.995 UTC [8480] user=B ü db=my db app=svc b ERROR:  deadlock detected',
      ),
    ).toEqual({
      timestamp: '2026-11-29 18:40:14.995 UTC',
      pid: 8480,
      user: 'B ü',
      database: 'my db',
      application: 'svc b',
      severity: 'ERROR',
      message: 'deadlock detected',
    });
    // Background processes log empty or [unknown] fields.
    const background = parse(
      '2026-11-29 18:40:14.302 UTC [8467] user= db= app= LOG:  starting PostgreSQL 18.4',
    );
    expect(background).toMatchObject({ pid: 8467, message: 'starting PostgreSQL 18.4' });
    expect(background?.user).toBeUndefined();
    expect(
      parse(
        '2026-11-29 18:40:14.345 UTC [8478] user=[unknown] db=[unknown] app=[unknown] LOG:  connection received',
      )?.user,
    ).toBeUndefined();
  });

  it('reads the pgBadger-style prefix, padding, %q and a session id without %p', () => {
    const badger = compileLogLinePrefix('%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ');
    expect(
      badger(
        '2024-03-01 10:00:00 CET [42]: [3-1] user=users,db=shop,app=api,client=10.0.0.1 LOG:  x',
      ),
    ).toMatchObject({
      pid: 42,
      user: 'users',
      database: 'shop',
      application: 'api',
      message: 'x',
    });
    const padded = compileLogLinePrefix('%m %-8u %10p %q%d ');
    expect(padded('2024-03-01 10:00:00.5 UTC reports         77 shop LOG:  y')).toMatchObject({
      user: 'reports',
      pid: 77,
      database: 'shop',
    });
    expect(
      padded('2024-03-01 10:00:00.5 UTC                  77 LOG:  checkpoint starting'),
    ).toMatchObject({ pid: 77, message: 'checkpoint starting' });
    const session = compileLogLinePrefix('%m %c %u ');
    expect(session('2024-03-01 10:00:00.500 UTC 65e1a4c0.1f90 users LOG:  z')).toMatchObject({
      pid: 0x1f90,
      user: 'users',
    });
  });

  it('reads timestamps in UTC, with offsets, and in a named log_timezone', () => {
    expect(parseLogTimestamp('2026-11-29 18:40:14.995 UTC')).toBe(
      Date.parse('2026-11-29T18:40:14.995Z'),
    );
    expect(parseLogTimestamp('2024-07-01 12:00:00 +03')).toBe(Date.parse('2024-07-01T09:00:00Z'));
    expect(parseLogTimestamp('2024-07-01 12:00:00.250 CEST', 'Europe/Berlin')).toBe(
      Date.parse('2024-07-01T10:00:00.250Z'),
    );
    expect(parseLogTimestamp('2024-01-15 12:00:00 CET', 'Europe/Berlin')).toBe(
      Date.parse('2024-01-15T11:00:00Z'),
    );
  });
});

describe('log entries', () => {
  it('groups a deadlock with its DETAIL (multi-line queries), HINT, CONTEXT and STATEMENT', () => {
    const parser = new LogEntryParser(PGPACT_LOG_LINE_PREFIX);
    // Chunks split mid-line, as a tail of a growing file reads them.
    const cut = DEADLOCK_LOG.indexOf('blocked by process 8479') + 5;
    const entries = [
      ...parser.push(DEADLOCK_LOG.slice(0, cut)),
      ...parser.push(DEADLOCK_LOG.slice(cut)),
    ];
    expect(entries.map((e) => e.severity)).toEqual(['LOG', 'ERROR']);
    const deadlock = entries[1]!;
    expect(deadlock.statement).toBe('UPDATE t SET v=2\n  WHERE id=1');
    expect(deadlock.context).toBe('while updating tuple (0,1) in relation "t"');
    const event = interpretEntry(deadlock);
    expect(event).toMatchObject({ kind: 'deadlock', victimPid: 8480 });
    expect(deadlockProcesses(deadlock.detail!)).toEqual([
      {
        pid: 8480,
        waitsFor: 'ShareLock on transaction 754',
        blockedBy: 8479,
        query: 'UPDATE t SET v=2\n  WHERE id=1',
      },
      {
        pid: 8479,
        waitsFor: 'ShareLock on transaction 755',
        blockedBy: 8480,
        query: 'UPDATE t SET v=2 WHERE id=2',
      },
    ]);
    expect(interpretEntry(entries[0]!)).toMatchObject({
      kind: 'connection',
      user: 'B ü',
      database: 'postgres',
      application: 'svc b',
    });
  });

  it('reads jsonlog and csvlog records (quoted newlines and quotes)', () => {
    const parser = new LogEntryParser();
    const json = JSON.stringify({
      timestamp: '2024-05-01 10:00:00.123 UTC',
      user: 'reporting',
      dbname: 'shop',
      pid: 901,
      application_name: 'nightly',
      error_severity: 'ERROR',
      message: 'canceling statement due to statement timeout',
      statement: 'SELECT * FROM big',
    });
    const csv =
      '2024-05-01 10:00:01.000 UTC,"users","shop",902,"127.0.0.1:5000",65e1a4c0.386,1,"UPDATE",2024-05-01 09:59:00 UTC,3/7,0,LOG,00000,"process 902 still waiting for ShareLock on transaction 99 after 200.5 ms","Process holding the lock: 901. Wait queue: 902.",,,,"while updating tuple (0,3) in relation ""Acc""""t""","UPDATE ""Acc""""t""\nSET x = 1",,,"api","client backend",,0';
    const entries = parser.push(`${json}\n${csv}\n`);
    expect(entries).toHaveLength(2);
    expect(interpretEntry(entries[0]!)).toMatchObject({
      kind: 'limit-hit',
      limit: 'statement_timeout',
    });
    expect(entries[0]).toMatchObject({ user: 'reporting', pid: 901, application: 'nightly' });
    const wait = interpretEntry(entries[1]!);
    expect(wait).toMatchObject({
      kind: 'lock-wait',
      pid: 902,
      state: 'waiting',
      holders: [901],
      queue: [902],
      waitedMs: 200.5,
    });
    expect(entries[1]!.statement).toBe('UPDATE "Acc""t"\nSET x = 1');
    expect(describeLoggedLock('transaction 99', entries[1]!.context)).toBe(
      'row (0,3) of "Acc""t" (transaction 99)',
    );
  });

  it('recognises refused connections and per-service timeouts', () => {
    const parse = (line: string) =>
      interpretEntry(new LogEntryParser(PGPACT_LOG_LINE_PREFIX).push(`${line}\n`)[0]!);
    expect(
      parse(
        '2026-01-01 00:00:00.000 UTC [5] user=reporting db=x app= FATAL:  too many connections for role "reporting"',
      ),
    ).toMatchObject({
      kind: 'connection-refused',
      role: 'reporting',
      reason: 'role-limit',
    });
    expect(
      parse(
        '2026-01-01 00:00:00.000 UTC [5] user=users db=x app= FATAL:  terminating connection due to idle-in-transaction timeout',
      ),
    ).toMatchObject({
      kind: 'limit-hit',
      limit: 'idle_in_transaction_session_timeout',
    });
    expect(
      parse(
        '2026-01-01 00:00:00.000 UTC [6] user=[unknown] db=[unknown] app=[unknown] LOG:  connection authorized: user=a database=b application_name=c SSL enabled (protocol=TLSv1.3, cipher=x, bits=256)',
      ),
    ).toMatchObject({ kind: 'connection', user: 'a', database: 'b', application: 'c' });
  });
});

describe('the session directory', () => {
  it('keeps two sessions that reused one pid apart by time', () => {
    const d = new SessionDirectory();
    d.observe({
      pid: 100,
      role: 'users',
      applicationName: 'api',
      database: 'shop',
      startedMs: 1000,
      firstSeenMs: 1000,
      lastSeenMs: 5000,
      source: 'sampler',
    });
    d.observe({
      pid: 100,
      role: 'reporting',
      applicationName: 'nightly',
      database: 'shop',
      startedMs: 60_000,
      firstSeenMs: 60_000,
      lastSeenMs: 61_000,
      source: 'sampler',
    });
    expect(d.size).toBe(2);
    expect(d.lookup(100, 3000)?.role).toBe('users');
    expect(d.lookup(100, 60_500)?.role).toBe('reporting');
    expect(d.lookup(100)?.role).toBe('reporting');
    // A log line of the first session refreshes it, it does not start a third one.
    d.observe({
      pid: 100,
      role: 'users',
      applicationName: null,
      database: null,
      firstSeenMs: 4000,
      lastSeenMs: 4000,
      source: 'log',
    });
    expect(d.size).toBe(2);
    d.end(100, 62_000);
    d.observe({
      pid: 100,
      role: 'invoicing',
      applicationName: null,
      database: null,
      startedMs: 90_000,
      firstSeenMs: 90_000,
      lastSeenMs: 90_000,
      source: 'log',
    });
    expect(d.lookup(100, 90_001)?.role).toBe('invoicing');
    expect(d.lookup(100, 61_500)?.role).toBe('reporting');
  });

  it('forgets the oldest sessions beyond its capacity', () => {
    const d = new SessionDirectory(3);
    for (let pid = 1; pid <= 5; pid += 1) {
      d.observe({
        pid,
        role: `r${pid}`,
        applicationName: null,
        database: null,
        firstSeenMs: pid,
        lastSeenMs: pid,
        source: 'log',
      });
    }
    expect(d.size).toBe(3);
    expect(d.lookup(1)).toBeUndefined();
    expect(d.lookup(5)?.role).toBe('r5');
  });
});
