import type { PinnedDigest } from '../core/integrity/pinned-digests';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../core/io/json';
import { HISTORY_IMPORT_MAX_BYTES, HISTORY_MAX_ENTRIES } from '../core/io/limits';
import { CATEGORIES } from '../core/report/finding';
import { REPORT_SCHEMA, type Report } from '../core/report/report';

/** The history export file: versioned, plain JSON, reports as the report schema defines them. */
export const EXPORT_FORMAT = 'tamperscope.history';
export const EXPORT_VERSION = 1;

export interface ExportedEntry {
  id: string;
  label: string;
  report: Report;
}

export interface HistoryExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  entries: ExportedEntry[];
  pinned: PinnedDigest[];
}

export type ImportErrorCode = 'too-large' | 'bad-json' | 'not-an-export' | 'unsupported-version' | 'too-many' | 'bad-entry';

/** An import file that is not a valid history export. Nothing is written when this is thrown. */
export class HistoryImportError extends Error {
  constructor(
    readonly code: ImportErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`history import: ${message}`);
    this.name = 'HistoryImportError';
  }
}

type Obj = { [k: string]: JsonValue };
const HEX64 = /^[0-9a-f]{64}$/;
const FINDING_ID = /^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/;
const VERDICTS = ['clean', 'warning', 'error', 'dangerous'];
const SEVERITIES = ['info', 'warning', 'error', 'dangerous'];
const SOURCES = ['pasted', 'checksums', 'model.sig', 'hub', 'pinned'];
const STATUSES = ['match', 'mismatch', 'missing', 'extra', 'unverified'];

function need(cond: boolean, path: string, what: string): asserts cond {
  if (!cond) throw new HistoryImportError('bad-entry', path, `${path} ${what}`);
}
const isStr = (v: JsonValue | undefined, max = 100_000): v is string => typeof v === 'string' && v.length <= max;
const isInt = (v: JsonValue | undefined, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isDate = (v: JsonValue | undefined): v is string => isStr(v, 40) && !Number.isNaN(Date.parse(v));
const oneOf = (v: JsonValue | undefined, list: string[]): v is string => typeof v === 'string' && list.includes(v);

/** Checks the parts of a report the page and the history rely on; anything else it carries is kept as is. */
export function validateReport(v: JsonValue | undefined, p: string): Report {
  need(isJsonObject(v), p, 'must be an object');
  const r = v as Obj;
  need(r.schema === REPORT_SCHEMA, `${p}.schema`, `must be "${REPORT_SCHEMA}"`);
  need(isJsonObject(r.tool) && isStr((r.tool as Obj).version, 40), `${p}.tool`, 'must name the tool version');
  need(isDate(r.createdAt), `${p}.createdAt`, 'must be a date');
  need(oneOf(r.verdict, VERDICTS), `${p}.verdict`, `must be one of ${VERDICTS.join(', ')}`);
  need(isStr(r.summary), `${p}.summary`, 'must be a string');
  need(Array.isArray(r.files), `${p}.files`, 'must be an array');
  (r.files as JsonValue[]).forEach((f, i) => {
    const fp = `${p}.files[${i}]`;
    need(isJsonObject(f), fp, 'must be an object');
    const x = f as Obj;
    need(isStr(x.name, 4096), `${fp}.name`, 'must be a string');
    need(isInt(x.size), `${fp}.size`, 'must be a non-negative integer');
    need(x.sha256 === null || (isStr(x.sha256, 64) && HEX64.test(x.sha256)), `${fp}.sha256`, 'must be 64 lower-case hex digits or null');
    need(x.format === null || isStr(x.format, 64), `${fp}.format`, 'must be a string or null');
    need(Array.isArray(x.formats) && x.formats.every((y) => isStr(y, 64)), `${fp}.formats`, 'must be an array of strings');
  });
  need(Array.isArray(r.findings), `${p}.findings`, 'must be an array');
  (r.findings as JsonValue[]).forEach((f, i) => {
    const fp = `${p}.findings[${i}]`;
    need(isJsonObject(f), fp, 'must be an object');
    const x = f as Obj;
    need(isStr(x.id, 200) && FINDING_ID.test(x.id), `${fp}.id`, 'must be a finding id like "namespace/code"');
    need(oneOf(x.category, CATEGORIES as string[]), `${fp}.category`, 'must be a known category');
    need(oneOf(x.severity, SEVERITIES), `${fp}.severity`, `must be one of ${SEVERITIES.join(', ')}`);
    need(isStr(x.title) && isStr(x.detail), `${fp}`, 'must have a title and a detail');
    need(x.file === undefined || isStr(x.file, 4096), `${fp}.file`, 'must be a string');
    need(x.offset === undefined || isInt(x.offset), `${fp}.offset`, 'must be a non-negative integer');
  });
  need(r.model === null || isJsonObject(r.model), `${p}.model`, 'must be an object or null');
  need(Array.isArray(r.tensors), `${p}.tensors`, 'must be an array');
  need(r.statistics === null || Array.isArray(r.statistics), `${p}.statistics`, 'must be an array or null');
  need(r.probes === null || isJsonObject(r.probes), `${p}.probes`, 'must be an object or null');
  need(Array.isArray(r.integrity), `${p}.integrity`, 'must be an array');
  (r.integrity as JsonValue[]).forEach((x, i) => {
    const ip = `${p}.integrity[${i}]`;
    need(isJsonObject(x) && isStr((x as Obj).file, 4096) && oneOf((x as Obj).source, SOURCES) && oneOf((x as Obj).status, STATUSES), ip, 'must have a file, a known source and a known status');
  });
  return r as unknown as Report;
}

export function validatePin(v: JsonValue, p: string): PinnedDigest {
  need(isJsonObject(v), p, 'must be an object');
  const x = v as Obj;
  need(isStr(x.name, 4096) && x.name.length > 0, `${p}.name`, 'must be a file name');
  need(isStr(x.sha256, 64) && HEX64.test(x.sha256), `${p}.sha256`, 'must be 64 lower-case hex digits');
  need(isDate(x.pinnedAt), `${p}.pinnedAt`, 'must be a date');
  need(x.note === undefined || isStr(x.note, 1000), `${p}.note`, 'must be a short string');
  return { name: x.name, sha256: x.sha256, pinnedAt: x.pinnedAt, ...(x.note !== undefined ? { note: x.note as string } : {}) };
}

/** Parses and validates an export file completely before anything is written. */
export function parseHistoryExport(text: string): HistoryExport {
  if (text.length > HISTORY_IMPORT_MAX_BYTES) throw new HistoryImportError('too-large', '', `${text.length} characters exceed the ${HISTORY_IMPORT_MAX_BYTES}-byte limit`);
  let value: JsonValue;
  try {
    value = parseJsonStrict(text, 'history-export').value;
  } catch (e) {
    throw new HistoryImportError('bad-json', '', `the file is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isJsonObject(value) || value.format !== EXPORT_FORMAT) throw new HistoryImportError('not-an-export', 'format', `the file is not a Tamperscope history export (expected "format": "${EXPORT_FORMAT}")`);
  if (value.version !== EXPORT_VERSION) throw new HistoryImportError('unsupported-version', 'version', `export version ${JSON.stringify(value.version)} is not supported (this page reads version ${EXPORT_VERSION})`);
  const entries = value.entries;
  const pinned = value.pinned ?? [];
  if (!Array.isArray(entries)) throw new HistoryImportError('bad-entry', 'entries', 'entries must be an array');
  if (!Array.isArray(pinned)) throw new HistoryImportError('bad-entry', 'pinned', 'pinned must be an array');
  if (entries.length > HISTORY_MAX_ENTRIES || pinned.length > HISTORY_MAX_ENTRIES) throw new HistoryImportError('too-many', 'entries', `more than ${HISTORY_MAX_ENTRIES} entries`);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: isStr(value.exportedAt, 40) ? value.exportedAt : '',
    entries: entries.map((e, i) => {
      const p = `entries[${i}]`;
      need(isJsonObject(e), p, 'must be an object');
      const x = e as Obj;
      need(isStr(x.id, 100) && /^[A-Za-z0-9_-]+$/.test(x.id), `${p}.id`, 'must be an id of letters, digits, "-" and "_"');
      need(isStr(x.label, 1000), `${p}.label`, 'must be a string');
      return { id: x.id, label: x.label, report: validateReport(x.report, `${p}.report`) };
    }),
    pinned: pinned.map((x, i) => validatePin(x, `pinned[${i}]`)),
  };
}
