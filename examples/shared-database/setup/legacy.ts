import type pg from 'pg';

/**
 * "...and somehow additional data that neither seems to belong to A or B": a legacy
 * audit log in `public`, created by hand as the admin long before any service had an
 * owner. No service in pgpact.yaml owns it; pgpact reports it as unowned.
 */

/** Schema and name of the legacy table. */
export const LEGACY_TABLE = { schema: 'public', name: 'legacy_audit_log' } as const;

/** Creates and fills the legacy table as the connected (admin) role; idempotent. */
export async function createLegacyData(admin: pg.ClientBase, rows = 2000): Promise<void> {
  await admin.query(`
    CREATE TABLE IF NOT EXISTS public.legacy_audit_log (
      id          bigserial PRIMARY KEY,
      happened_at timestamptz NOT NULL DEFAULT now(),
      actor       text NOT NULL,
      action      text NOT NULL,
      detail      jsonb
    )`);
  await admin.query(
    `INSERT INTO public.legacy_audit_log (happened_at, actor, action, detail)
     SELECT now() - g * interval '37 minutes',
            (ARRAY['batch-export', 'crm-sync', 'admin'])[1 + g % 3],
            (ARRAY['export', 'login', 'update'])[1 + g % 3],
            jsonb_build_object('n', g)
     FROM generate_series(1, $1::int) AS g
     WHERE NOT EXISTS (SELECT 1 FROM public.legacy_audit_log)`,
    [rows],
  );
}
