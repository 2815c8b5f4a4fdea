import type { RuntimeFinding } from '../../../src/server/api-types.js';
import { badge, h } from '../dom.js';

/** Runtime findings as a list: the severity in words, then the message. */
export function findingList(findings: RuntimeFinding[]): HTMLUListElement {
  return h(
    'ul',
    { class: 'plain-list finding-list' },
    findings.map((f) =>
      h(
        'li',
        { 'data-kind': f.kind, 'data-service': f.service ?? null },
        badge(
          f.severity,
          f.severity === 'breaking' ? 'danger' : f.severity === 'warning' ? 'warn' : 'info',
        ),
        ' ',
        f.message,
      ),
    ),
  );
}
