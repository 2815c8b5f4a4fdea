import type { Manifest } from '../manifest/types.js';
import type { ConsumerHit } from './consumers.js';
import { joinNames } from './suggestions.js';

/** Who to talk to about a service: its team and contact from the manifest. */
export function teamOf(manifest: Manifest, service: string): string | undefined {
  const s = manifest.services.find((x) => x.name === service);
  const parts = [s?.team ? `team ${s.team}` : undefined, s?.contact].filter(
    (p): p is string => p !== undefined,
  );
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/**
 * One clause naming every consumer with how pgpact knows and whom to ask, e.g.
 * `used by invoicing (declared read; team billing, #billing) and reporting (observed read, 120 calls)`.
 */
export function describeConsumers(hits: ConsumerHit[], manifest: Manifest): string {
  const byService = new Map<string, ConsumerHit[]>();
  for (const h of hits) byService.set(h.service, [...(byService.get(h.service) ?? []), h]);
  const parts = [...byService.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, list]) => {
      const how: string[] = [];
      for (const source of ['declared', 'observed'] as const) {
        const of = list.filter((h) => h.source === source);
        if (of.length === 0) continue;
        const access = [...new Set(of.map((h) => h.access))].sort().join('/');
        const calls = of.reduce((n, h) => n + (h.calls ?? 0), 0);
        how.push(
          `${source} ${access}${source === 'observed' && calls > 0 ? `, ${calls} calls` : ''}`,
        );
      }
      const via = [...new Set(list.map((h) => h.via).filter((v): v is string => v !== undefined))];
      if (via.length > 0) how.push(`through view ${joinNames(via)}`);
      if (list.some((h) => h.unknownRole)) how.push('a role no service in the manifest uses');
      const team = teamOf(manifest, service);
      return `${service} (${how.join('; ')}${team ? `; ${team}` : ''})`;
    });
  return `used by ${joinNames(parts)}`;
}
