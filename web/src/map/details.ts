import type {
  ColumnAccess,
  CouplingMap,
  MapEdge,
  MapTable,
  ReportFinding,
} from '../../../src/server/api-types.js';
import { badge, h } from '../dom.js';
import { compactNumber } from '../format.js';
import { accessText, edgeTone, statusText } from './edge-style.js';

const TONE_BADGE: Record<string, string> = {
  ok: 'ok',
  unused: 'muted',
  undeclared: 'warn',
  beyond: 'warn',
  broken: 'danger',
  observed: 'info',
};

/** A chip naming a consumer of a column, with how it reads in words. */
function accessChip(a: ColumnAccess, hasManifest: boolean): HTMLElement {
  const tone = a.broken
    ? 'danger'
    : a.declared && a.observed
      ? 'ok'
      : a.declared
        ? 'muted'
        : hasManifest
          ? 'warn'
          : 'info';
  return h(
    'li',
    {
      class: `chip chip-${tone}`,
      'data-reader': a.service,
      'data-declared': String(a.declared),
      'data-observed': String(a.observed),
    },
    h('strong', null, a.service),
    h('span', { class: 'chip-how' }, accessText(a, hasManifest)),
    a.broken ? h('span', { class: 'chip-flag' }, 'breaks') : null,
  );
}

/** The list of check-report findings about an object. */
export function findingList(findings: ReportFinding[]): HTMLElement {
  return h(
    'ul',
    { class: 'finding-list' },
    findings.map((f) =>
      h(
        'li',
        { class: `finding finding-${f.severity}` },
        badge(
          f.severity,
          f.severity === 'breaking' ? 'danger' : f.severity === 'warning' ? 'warn' : 'info',
        ),
        ' ',
        h('code', null, f.object),
        ' ',
        h('span', null, f.message),
        f.suggestion
          ? h('div', { class: 'finding-suggestion' }, `Suggestion: ${f.suggestion}`)
          : null,
      ),
    ),
  );
}

function edgeRow(e: MapEdge): HTMLElement {
  // The status badge says how the access relates to the contract; a break gets its own badge.
  const tone = edgeTone({ ...e, broken: false });
  return h(
    'li',
    { class: 'consumer-row', 'data-edge-from': e.service },
    h('strong', null, e.service),
    ` ${e.access === 'write' ? 'writes' : 'reads'} `,
    badge(statusText(e), TONE_BADGE[tone] ?? 'muted'),
    e.broken ? badge('breaks', 'danger') : null,
    e.undeclaredColumns.length
      ? h('div', { class: 'muted small' }, `beyond the contract: ${e.undeclaredColumns.join(', ')}`)
      : null,
  );
}

/** The details of one table: owner, consumers, columns and who reads each, findings. */
export function tableDetails(map: CouplingMap, table: MapTable): HTMLElement {
  const owner = map.services.find((s) => s.name === table.ownerService);
  const edges = map.edges.filter((e) => e.table === table.id);
  const hasManifest = map.sources.manifest !== undefined;
  const hasWriters = table.columns.some((c) => c.writers.length > 0);
  return h(
    'div',
    { class: 'details', 'data-details-table': table.id },
    h(
      'h3',
      { id: 'details-title', tabindex: '-1' },
      h('span', { class: 'muted' }, `${table.schema}.`),
      table.name,
    ),
    h(
      'p',
      { class: 'details-meta' },
      owner
        ? `Owned by ${owner.name}${owner.team ? ` (team ${owner.team}${owner.contact ? `, ${owner.contact}` : ''})` : ''}`
        : 'No owning service',
      ` · ${table.kind.replace('_', ' ')}`,
      table.estimatedRows >= 0 ? ` · ~${compactNumber(table.estimatedRows)} rows` : '',
      table.missing ? ' · not in the database' : '',
    ),
    table.findings.length
      ? h('div', null, h('h4', null, 'Check report'), findingList(table.findings))
      : null,
    h('h4', null, `Consumers (${new Set(edges.map((e) => e.service)).size})`),
    edges.length
      ? h('ul', { class: 'consumer-list' }, edges.map(edgeRow))
      : h('p', { class: 'muted' }, 'No other service reads or writes this table.'),
    h('h4', null, `Columns (${table.columns.length})`),
    h(
      'table',
      { class: 'column-table' },
      h('caption', { class: 'sr-only' }, `Columns of ${table.id} and the services reading them`),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, 'Column'),
          h('th', { scope: 'col' }, 'Read by'),
          hasWriters ? h('th', { scope: 'col' }, 'Written by') : null,
        ),
      ),
      h(
        'tbody',
        null,
        table.columns.map((c) =>
          h(
            'tr',
            {
              'data-column': c.name,
              class: c.findings.some((f) => f.severity === 'breaking') ? 'row-broken' : null,
            },
            h(
              'th',
              { scope: 'row' },
              h('code', null, c.name),
              h('div', { class: 'col-type' }, c.missing ? 'declared, not in the database' : c.type),
            ),
            h(
              'td',
              null,
              c.readers.length
                ? h(
                    'ul',
                    { class: 'chips' },
                    c.readers.map((a) => accessChip(a, hasManifest)),
                  )
                : h('span', { class: 'muted' }, '—'),
            ),
            hasWriters
              ? h(
                  'td',
                  null,
                  h(
                    'ul',
                    { class: 'chips' },
                    c.writers.map((a) => accessChip(a, hasManifest)),
                  ),
                )
              : null,
          ),
        ),
      ),
    ),
  );
}

/** The details of one service: what it owns and what it reads of others. */
export function serviceDetails(map: CouplingMap, name: string): HTMLElement {
  const svc = map.services.find((s) => s.name === name);
  const edges = map.edges.filter((e) => e.service === name);
  return h(
    'div',
    { class: 'details', 'data-details-service': name },
    h('h3', { id: 'details-title', tabindex: '-1' }, name),
    h(
      'p',
      { class: 'details-meta' },
      svc?.inManifest
        ? `Role ${svc.role}${svc.team ? ` · team ${svc.team}` : ''}${svc.contact ? ` · ${svc.contact}` : ''}${svc.enforcement ? ` · ${svc.enforcement}` : ''}`
        : 'A role seen in the statistics, not declared in the manifest',
    ),
    h('h4', null, 'Owns'),
    svc?.owns.length || svc?.ownsTables?.length
      ? h(
          'p',
          null,
          [
            ...svc.owns.map((o) => `schema ${o}`),
            // Tables it owns in a shared schema (owns: patterns such as public.batch_*).
            ...(svc.ownsTables ?? []).map((t) => `table ${t}`),
          ].join(', '),
        )
      : h('p', { class: 'muted' }, 'No schema or table'),
    h('h4', null, `Reads and writes of other services (${edges.length})`),
    edges.length
      ? h(
          'ul',
          { class: 'consumer-list' },
          edges.map((e) =>
            h(
              'li',
              { class: 'consumer-row' },
              h('strong', null, e.table),
              ' ',
              badge(statusText(e), TONE_BADGE[edgeTone({ ...e, broken: false })] ?? 'muted'),
              e.broken ? badge('breaks', 'danger') : null,
              h(
                'div',
                { class: 'muted small' },
                `${e.access === 'write' ? 'writes' : 'reads'}: ${(e.observedColumns.length ? e.observedColumns : e.declaredColumns === '*' ? ['*'] : e.declaredColumns).join(', ') || 'the table'}`,
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'None'),
  );
}
