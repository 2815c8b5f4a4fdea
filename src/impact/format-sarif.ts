import { createHash } from 'node:crypto';
import type { Finding, Severity } from '../findings.js';
import { CHECK_FINDING_KINDS } from './finding-kinds.js';

/** The subset of SARIF 2.1.0 pgpact writes. */
export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: {
      driver: {
        name: string;
        version: string;
        informationUri: string;
        rules: {
          id: string;
          name: string;
          shortDescription: { text: string };
          defaultConfiguration: { level: 'error' | 'warning' | 'note' };
        }[];
      };
    };
    columnKind: 'utf16CodeUnits';
    results: {
      ruleId: string;
      ruleIndex: number;
      level: 'error' | 'warning' | 'note';
      message: { text: string };
      locations: {
        physicalLocation: {
          artifactLocation: { uri: string; uriBaseId?: string };
          region: { startLine: number };
        };
      }[];
      partialFingerprints: Record<string, string>;
      properties: {
        object: string;
        severity: Severity;
        consumers: { service: string; source: string }[];
        suggestion?: string;
      };
    }[];
  }[];
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  breaking: 'error',
  warning: 'warning',
  info: 'note',
};
const DEFAULT_LEVEL: Record<string, 'error' | 'warning' | 'note'> = {
  'table-rewrite': 'warning',
  'validating-scan': 'warning',
  'index-without-concurrently': 'warning',
  'missing-lock-timeout': 'warning',
  'unowned-schema': 'warning',
  'empty-base': 'warning',
  'column-added': 'note',
  'table-added': 'note',
  'view-added': 'note',
  'statement-not-checked': 'note',
};

function ruleName(kind: string): string {
  return kind
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** `file:line` → uri and line; a finding without location points at the first migration file. */
function parseLocation(
  location: string | undefined,
  fallbackFile: string,
): { uri: string; absolute: boolean; line: number } {
  const m = location ? /^(.*):(\d+)$/.exec(location) : null;
  const file = m ? m[1]! : fallbackFile;
  const line = Math.max(1, m ? Number(m[2]) : 1);
  const uri = file.split('/').map(encodeURIComponent).join('/');
  // Relative paths resolve against the checkout (%SRCROOT%); absolute ones become file: URIs.
  return {
    uri: file.startsWith('/') ? `file://${uri}` : uri,
    absolute: file.startsWith('/'),
    line,
  };
}

/** The findings as a SARIF 2.1.0 log, for code-scanning tools (GitHub, GitLab, Azure DevOps). */
export function toSarif(
  findings: Finding[],
  options: { version: string; firstFile: string },
): SarifLog {
  const kinds = [...new Set(findings.map((f) => f.kind))].sort();
  const rules = kinds.map((id) => ({
    id,
    name: ruleName(id),
    shortDescription: { text: CHECK_FINDING_KINDS[id] ?? id },
    defaultConfiguration: { level: DEFAULT_LEVEL[id] ?? 'error' },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pgpact',
            version: options.version,
            informationUri: 'https://www.npmjs.com/package/pgpact',
            rules,
          },
        },
        columnKind: 'utf16CodeUnits',
        results: findings.map((f) => {
          const where = parseLocation(f.location, options.firstFile);
          return {
            ruleId: f.kind,
            ruleIndex: kinds.indexOf(f.kind),
            level: LEVEL[f.severity],
            message: {
              text:
                f.suggestion && f.severity !== 'info'
                  ? `${f.message}. Instead: ${f.suggestion}`
                  : f.message,
            },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: where.absolute
                    ? { uri: where.uri }
                    : { uri: where.uri, uriBaseId: '%SRCROOT%' },
                  region: { startLine: where.line },
                },
              },
            ],
            partialFingerprints: {
              'pgpactFinding/v1': createHash('sha256')
                .update(`${f.kind}\u0000${f.object}`)
                .digest('hex')
                .slice(0, 32),
            },
            properties: {
              object: f.object,
              severity: f.severity,
              consumers: f.consumers.map((c) => ({ service: c.service, source: c.source })),
              ...(f.suggestion ? { suggestion: f.suggestion } : {}),
            },
          };
        }),
      },
    ],
  };
}
