import { type Manifest, serviceOfRole } from '../manifest/types.js';
import type { ServiceName } from './types.js';

/** Backend types that are client sessions (everything else is a server background process). */
const CLIENT_BACKENDS = new Set(['client backend']);

/** Whether a pg_stat_activity backend_type is a client session. */
export function isClientBackend(backendType: string | null): boolean {
  return backendType === null || CLIENT_BACKENDS.has(backendType);
}

/**
 * Names the service of a session: the manifest's role mapping first, then
 * application_name when it names a manifest service, else the role itself
 * (marked unknown when a manifest was loaded and does not know it).
 */
export function nameService(
  manifest: Manifest | undefined,
  session: { role: string | null; applicationName?: string | null; backendType?: string | null },
): ServiceName {
  const backendType = session.backendType ?? 'client backend';
  if (!isClientBackend(backendType) && session.role === null) {
    return { service: backendType, attribution: 'background' };
  }
  const role = session.role ?? '';
  if (manifest === undefined) return { service: role, attribution: 'role' };
  const byRole = serviceOfRole(manifest, role);
  if (byRole) return { service: byRole.name, attribution: 'manifest-role' };
  const app = session.applicationName ?? '';
  const byApp = app === '' ? undefined : manifest.services.find((s) => s.name === app);
  if (byApp) return { service: byApp.name, attribution: 'application-name' };
  return { service: role, attribution: 'unknown-role' };
}

/** A service name for people: `reporting`, or `unknown role "x"` for roles the manifest does not know. */
export function describeService(name: { service: string; attribution: string }): string {
  if (name.attribution === 'unknown-role') return `unknown role ${JSON.stringify(name.service)}`;
  if (name.attribution === 'unknown-process') return `an unnamed ${name.service}`;
  if (name.attribution === 'background') return `(${name.service})`;
  return name.service;
}

/** The manifest's role for a service name, or the name itself when there is no manifest. */
export function roleOfService(manifest: Manifest | undefined, service: string): string {
  return manifest?.services.find((s) => s.name === service)?.role ?? service;
}
