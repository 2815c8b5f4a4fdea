import type { Finding } from '../../findings.js';
import type { LintRule } from './lint-rule.js';
import { asArr, asObj, lintFinding, nameParts, statementBody } from './lint-rule.js';

/**
 * A domain's CHECK applies to every column of that type in every table: adding one scans
 * them all under a lock, and changing one later cannot be done NOT VALID column by column.
 */
export const domainConstraint: LintRule = {
  kind: 'domain-constraint',
  squawk: ['ban-create-domain-with-constraint', 'ban-alter-domain-with-add-constraint'],
  description:
    'A domain gets a CHECK constraint: it applies to every column of that type, and changing it later scans them all.',
  check: (ctx) =>
    ctx.statements.flatMap((s): Finding[] => {
      const [type, body] = statementBody(s);
      const domain = nameParts(type === 'CreateDomainStmt' ? body.domainname : body.typeName).join(
        '.',
      );
      if (type === 'CreateDomainStmt') {
        const checks = asArr(body.constraints).filter(
          (c) => asObj(asObj(c)?.Constraint)?.contype === 'CONSTR_CHECK',
        );
        if (checks.length === 0) return [];
        return [
          lintFinding(ctx, s, {
            kind: 'domain-constraint',
            severity: 'info',
            object: domain,
            message: `domain ${domain} is created with a CHECK: changing that rule later re-checks every column of this type in every table under a lock`,
            suggestion:
              'put the CHECK on the tables that use a plain type instead (table constraints can be added NOT VALID and validated online)',
          }),
        ];
      }
      if (type === 'AlterDomainStmt' && body.subtype === 'C') {
        const notValid = asObj(asObj(body.def)?.Constraint)?.skip_validation === true;
        return [
          lintFinding(ctx, s, {
            kind: 'domain-constraint',
            severity: notValid ? 'info' : 'warning',
            object: domain,
            message: notValid
              ? `ALTER DOMAIN ${domain} ADD CONSTRAINT ... NOT VALID: VALIDATE later scans every column of this type in every table`
              : `ALTER DOMAIN ${domain} ADD CONSTRAINT scans every column of this type in every table while holding locks that block their writes`,
            suggestion:
              'add the CHECK to each table NOT VALID and VALIDATE it there, one table at a time',
          }),
        ];
      }
      return [];
    }),
};
