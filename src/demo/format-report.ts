import path from 'node:path';
import type { DemoEvent, DemoReport } from './run-demo.js';

/** Renders the demo for a person, one event at a time (the CLI prints what these return). */

/** The demo's opening lines. */
export function formatOpening(monolith = false): string {
  return monolith
    ? 'pgpact demo --monolith: a one-schema database adopts pgpact, told on a running system\n\nsetup\n'
    : 'pgpact demo: the article "Sharing a database", told on a running system\n\nsetup\n';
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

/** One event as printable text (empty when nothing is printed for it). */
export function formatEvent(event: DemoEvent): string {
  switch (event.type) {
    case 'setup':
      return `  ${event.text}\n`;
    case 'chapter-start':
      return `\n${event.index + 1}. ${event.chapter.title}\n${wrap(`“${event.chapter.articleQuote}”`, 92, '   ')}\n`;
    case 'chapter-progress':
      return `   … ${event.text}\n`;
    case 'chapter-end': {
      const r = event.result;
      const lines = [
        '   did:',
        ...r.did.map((l) => `     - ${l}`),
        '   measured:',
        ...r.measured.map((l) => `     - ${l}`),
        ...r.problems.map((l) => `   PROBLEM: ${l}`),
        `   → ${r.outcome === 'ok' ? 'ok' : 'FAILED'} (${(event.ms / 1000).toFixed(1)} s)`,
      ];
      return `${lines.join('\n')}\n`;
    }
    case 'teardown':
      return `\n${event.text}\n`;
  }
}

/** The closing lines: the verdict, timings, and for --keep what runs and how to stop it. */
export function formatClosing(report: DemoReport): string {
  const failed = report.chapters.filter((c) => c.outcome !== 'ok');
  const lines: string[] = [''];
  if (report.interrupted) lines.push('interrupted: everything the demo started was stopped');
  else if (report.ok) lines.push(`all ${report.chapters.length} chapters ok`);
  else lines.push(`${failed.length} chapter(s) failed: ${failed.map((c) => c.id).join(', ')}`);
  const t = report.timings;
  lines.push(
    `time: ${(t.totalMs / 1000).toFixed(1)} s (setup ${(t.setupMs / 1000).toFixed(1)} s, chapters ${(t.chaptersMs / 1000).toFixed(1)} s, stop ${(t.teardownMs / 1000).toFixed(1)} s)`,
  );
  if (report.kept) {
    lines.push('', 'left running (--keep):', `  database   ${report.kept.database}`);
    for (const p of report.kept.processes) {
      lines.push(
        `  ${p.name.padEnd(10)} ${p.url ?? '(traffic, 20 requests/s)'}  pid ${p.pid}  log ${p.logFile}`,
      );
    }
    lines.push(
      `  services' passwords: ${path.join(report.kept.stateDir, 'credentials.json')}`,
      ...(report.kept.embeddedServer
        ? [
            `  admin URL with password: PGPACT_HOME=${report.kept.stateDir} npx pgpact db url --show-password`,
          ]
        : []),
      '',
      'stop it all: npx pgpact demo --stop',
    );
  }
  return `${lines.join('\n')}\n`;
}
