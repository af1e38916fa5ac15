import type { Finding, Severity } from './finding';
import type { Report } from './report';

/** SARIF 2.1.0 (OASIS): what code-scanning dashboards and CI annotations read. */
export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export type SarifLevel = 'error' | 'warning' | 'note';

export function sarifLevel(s: Severity): SarifLevel {
  return s === 'dangerous' || s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note';
}

/** A relative file path as a URI reference: each segment percent-encoded, so odd names stay one path. */
export function fileUri(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; informationUri: string; rules: SarifRule[] } };
    artifacts: { location: { uri: string }; length: number; hashes?: { 'sha-256': string } }[];
    results: SarifResult[];
    properties: { verdict: Report['verdict']; summary: string; createdAt: string };
  }[];
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  defaultConfiguration: { level: SarifLevel };
  properties: { category: Finding['category'] };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations?: { physicalLocation: { artifactLocation: { uri: string }; region?: { byteOffset: number } } }[];
  properties?: Record<string, unknown>;
}

function ruleName(id: string): string {
  // SARIF rule names are PascalCase identifiers by convention: pickle/dangerous-call → PickleDangerousCall
  return id
    .split(/[/-]/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

export function toSarif(report: Report): SarifLog {
  const rules: SarifRule[] = [];
  const index = new Map<string, number>();
  for (const f of report.findings) {
    if (index.has(f.id)) {
      // a rule's default level is the worst level its results reach
      const r = rules[index.get(f.id)!];
      const order: SarifLevel[] = ['note', 'warning', 'error'];
      if (order.indexOf(sarifLevel(f.severity)) > order.indexOf(r.defaultConfiguration.level)) r.defaultConfiguration.level = sarifLevel(f.severity);
      continue;
    }
    index.set(f.id, rules.length);
    rules.push({ id: f.id, name: ruleName(f.id), shortDescription: { text: f.title }, defaultConfiguration: { level: sarifLevel(f.severity) }, properties: { category: f.category } });
  }
  const results: SarifResult[] = report.findings.map((f) => {
    const r: SarifResult = { ruleId: f.id, ruleIndex: index.get(f.id)!, level: sarifLevel(f.severity), message: { text: `${f.title}. ${f.detail}` } };
    if (f.file !== undefined && f.file !== '') {
      r.locations = [{ physicalLocation: { artifactLocation: { uri: fileUri(f.file) }, ...(f.offset !== undefined ? { region: { byteOffset: f.offset } } : {}) } }];
    }
    r.properties = { severity: f.severity, category: f.category, ...(f.evidence ? { evidence: f.evidence } : {}) };
    return r;
  });
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'tamperscope', version: report.tool.version, informationUri: 'https://github.com/tamperscope/tamperscope', rules } },
        artifacts: report.files.map((f) => ({ location: { uri: fileUri(f.name) }, length: f.size, ...(f.sha256 ? { hashes: { 'sha-256': f.sha256 } } : {}) })),
        results,
        properties: { verdict: report.verdict, summary: report.summary, createdAt: report.createdAt },
      },
    ],
  };
}

export function renderSarif(report: Report): string {
  return JSON.stringify(toSarif(report), null, 2) + '\n';
}
