import { deflateSync, Inflate } from 'fflate';
import { concatBytes } from '../io/bytes';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../io/json';
import { SHARE_LINK_MAX_CHARS, SHARE_LINK_MAX_INFLATED } from '../io/limits';
import type { Severity, Verdict } from './finding';
import type { IntegrityStatus, Report } from './report';

/**
 * A report summary carried in a URL fragment (`#r=<base64url(deflate(JSON))>`): the fragment never
 * reaches a server, so a link shares the verdict, files, digests and findings without uploading anything.
 * Whatever is decoded from a fragment is hostile input: it is bounded, validated field by field, and
 * rendered as text only.
 */

export const SHARE_VERSION = 1;

export interface SharedFile {
  name: string;
  size: number;
  sha256: string | null;
  format: string | null;
}

export interface SharedFinding {
  id: string;
  severity: Severity;
  title: string;
  file?: string;
}

export interface SharedSummary {
  v: typeof SHARE_VERSION;
  verdict: Verdict;
  createdAt: string;
  toolVersion: string;
  model: { format: string; formatVersion: string | null; tensorCount: number; parameterCount: number; graphNodeCount: number | null } | null;
  files: SharedFile[];
  findings: SharedFinding[];
  /** integrity results counted by status */
  integrity: Partial<Record<IntegrityStatus, number>>;
  /** how many files and findings were left out to fit the link; the full report has them */
  truncated: { files: number; findings: number };
}

export type ShareLinkErrorCode = 'no-report' | 'too-long' | 'bad-base64' | 'bad-deflate' | 'too-large' | 'bad-json' | 'bad-shape' | 'unsupported-version';

export class ShareLinkError extends Error {
  constructor(
    readonly code: ShareLinkErrorCode,
    message: string,
  ) {
    super(`share link: ${message}`);
    this.name = 'ShareLinkError';
  }
}

const MAX_TITLE = 200;
const MAX_NAME = 300;
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export function summarizeForShare(report: Report): SharedSummary {
  const integrity: SharedSummary['integrity'] = {};
  for (const r of report.integrity) integrity[r.status] = (integrity[r.status] ?? 0) + 1;
  const m = report.model;
  return {
    v: SHARE_VERSION,
    verdict: report.verdict,
    createdAt: report.createdAt,
    toolVersion: report.tool.version,
    model: m ? { format: m.format, formatVersion: m.formatVersion, tensorCount: m.tensorCount, parameterCount: m.parameterCount, graphNodeCount: m.graphNodeCount } : null,
    files: report.files.map((f) => ({ name: clip(f.name, MAX_NAME), size: f.size, sha256: f.sha256, format: f.format })),
    findings: report.findings.map((f) => ({ id: f.id, severity: f.severity, title: clip(f.title, MAX_TITLE), ...(f.file !== undefined ? { file: clip(f.file, MAX_NAME) } : {}) })),
    integrity,
    truncated: { files: 0, findings: 0 },
  };
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new ShareLinkError('bad-base64', 'the link data is not base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function encodeSummary(s: SharedSummary): string {
  return '#r=' + toBase64Url(deflateSync(new TextEncoder().encode(JSON.stringify(s)), { level: 9 }));
}

/**
 * Encodes a report summary as a `#r=` fragment of at most `maxChars`. When the summary does not fit,
 * the least severe findings, then the last files, are left out and the counts recorded in `truncated`.
 */
export function encodeShareLink(report: Report, maxChars = SHARE_LINK_MAX_CHARS): { fragment: string; summary: SharedSummary } {
  const full = summarizeForShare(report);
  const fits = (findings: number, files: number) => {
    const s: SharedSummary = {
      ...full,
      findings: full.findings.slice(0, findings),
      files: full.files.slice(0, files),
      truncated: { findings: full.findings.length - findings, files: full.files.length - files },
    };
    const fragment = encodeSummary(s);
    return fragment.length <= maxChars ? { fragment, summary: s } : null;
  };
  const all = fits(full.findings.length, full.files.length);
  if (all) return all;
  // Findings are sorted worst first: keep as many as fit (binary search), with every file if possible.
  const search = (hi: number, test: (n: number) => ReturnType<typeof fits>): ReturnType<typeof fits> => {
    let lo = 0;
    let best = test(0);
    if (!best) return null;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const r = test(mid);
      if (r) {
        best = r;
        lo = mid;
      } else hi = mid - 1;
    }
    return best;
  };
  const withFiles = search(full.findings.length, (n) => fits(n, full.files.length));
  if (withFiles) return withFiles;
  const noFindings = search(full.files.length, (n) => fits(0, n));
  if (noFindings) return noFindings;
  throw new ShareLinkError('too-long', `even an empty summary does not fit in ${maxChars} characters`);
}

function inflateBounded(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let done = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > SHARE_LINK_MAX_INFLATED) throw new ShareLinkError('too-large', `the link data inflates past ${SHARE_LINK_MAX_INFLATED} bytes`);
    parts.push(chunk);
    if (final) done = true;
  });
  try {
    // Small input steps bound the output produced before the size check runs (deflate expands ≤ 1032×).
    for (let i = 0; i < data.length; i += 256) inf.push(data.subarray(i, i + 256), i + 256 >= data.length);
    if (data.length === 0) inf.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ShareLinkError) throw e;
    throw new ShareLinkError('bad-deflate', `the link data is not deflate data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!done) throw new ShareLinkError('bad-deflate', 'the link data ends before its deflate stream does');
  return concatBytes(parts);
}

const VERDICTS = new Set(['clean', 'warning', 'error', 'dangerous']);
const SEVERITIES = new Set(['info', 'warning', 'error', 'dangerous']);
const STATUSES = new Set(['match', 'mismatch', 'missing', 'extra', 'unverified']);

type Obj = { [k: string]: JsonValue };
function shape(cond: boolean, path: string, what: string): asserts cond {
  if (!cond) throw new ShareLinkError('bad-shape', `${path} ${what}`);
}
const isStr = (v: JsonValue | undefined, max: number): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function validate(v: JsonValue): SharedSummary {
  shape(isJsonObject(v), 'the summary', 'must be an object');
  const o = v as Obj;
  if (o.v !== SHARE_VERSION) throw new ShareLinkError('unsupported-version', `version ${JSON.stringify(o.v)} is not supported (this page reads version ${SHARE_VERSION})`);
  shape(isStr(o.verdict, 16) && VERDICTS.has(o.verdict), 'verdict', 'must be clean, warning, error or dangerous');
  shape(isStr(o.createdAt, 40) && !Number.isNaN(Date.parse(o.createdAt)), 'createdAt', 'must be a date');
  shape(isStr(o.toolVersion, 40), 'toolVersion', 'must be a short string');
  let model: SharedSummary['model'] = null;
  if (o.model !== null) {
    shape(isJsonObject(o.model), 'model', 'must be an object or null');
    const m = o.model as Obj;
    shape(isStr(m.format, 40), 'model.format', 'must be a short string');
    shape(m.formatVersion === null || isStr(m.formatVersion, 40), 'model.formatVersion', 'must be a short string or null');
    shape(isCount(m.tensorCount) && isCount(m.parameterCount), 'model counts', 'must be non-negative integers');
    shape(m.graphNodeCount === null || isCount(m.graphNodeCount), 'model.graphNodeCount', 'must be a non-negative integer or null');
    model = { format: m.format as string, formatVersion: m.formatVersion as string | null, tensorCount: m.tensorCount as number, parameterCount: m.parameterCount as number, graphNodeCount: m.graphNodeCount as number | null };
  }
  shape(Array.isArray(o.files) && o.files.length <= 10_000, 'files', 'must be an array');
  const files = (o.files as JsonValue[]).map((f, i): SharedFile => {
    shape(isJsonObject(f), `files[${i}]`, 'must be an object');
    const x = f as Obj;
    shape(isStr(x.name, MAX_NAME), `files[${i}].name`, `must be a string of at most ${MAX_NAME} characters`);
    shape(isCount(x.size), `files[${i}].size`, 'must be a non-negative integer');
    shape(x.sha256 === null || (isStr(x.sha256, 64) && /^[0-9a-f]{64}$/.test(x.sha256)), `files[${i}].sha256`, 'must be 64 hex digits or null');
    shape(x.format === null || isStr(x.format, 40), `files[${i}].format`, 'must be a short string or null');
    return { name: x.name as string, size: x.size as number, sha256: x.sha256 as string | null, format: x.format as string | null };
  });
  shape(Array.isArray(o.findings) && o.findings.length <= 10_000, 'findings', 'must be an array');
  const findings = (o.findings as JsonValue[]).map((f, i): SharedFinding => {
    shape(isJsonObject(f), `findings[${i}]`, 'must be an object');
    const x = f as Obj;
    shape(isStr(x.id, 100) && /^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/.test(x.id), `findings[${i}].id`, 'must be a finding id like "namespace/code"');
    shape(isStr(x.severity, 16) && SEVERITIES.has(x.severity), `findings[${i}].severity`, 'must be info, warning, error or dangerous');
    shape(isStr(x.title, MAX_TITLE), `findings[${i}].title`, `must be a string of at most ${MAX_TITLE} characters`);
    shape(x.file === undefined || isStr(x.file, MAX_NAME), `findings[${i}].file`, 'must be a string');
    return { id: x.id as string, severity: x.severity as Severity, title: x.title as string, ...(x.file !== undefined ? { file: x.file as string } : {}) };
  });
  shape(isJsonObject(o.integrity), 'integrity', 'must be an object');
  const integrity: SharedSummary['integrity'] = {};
  for (const [k, n] of Object.entries(o.integrity as Obj)) {
    shape(STATUSES.has(k) && isCount(n), `integrity.${k.slice(0, 20)}`, 'must be a status with a count');
    integrity[k as IntegrityStatus] = n as number;
  }
  shape(isJsonObject(o.truncated), 'truncated', 'must be an object');
  const t = o.truncated as Obj;
  shape(isCount(t.files) && isCount(t.findings), 'truncated', 'must hold two counts');
  return { v: SHARE_VERSION, verdict: o.verdict as Verdict, createdAt: o.createdAt as string, toolVersion: o.toolVersion as string, model, files, findings, integrity, truncated: { files: t.files as number, findings: t.findings as number } };
}

/**
 * Decodes a share link: a whole URL, a `#r=…` fragment, or `r=…`. Anything else, or anything that does
 * not decode to a valid summary, is a ShareLinkError with a stable code; it never throws anything else.
 */
export function decodeShareLink(input: string): SharedSummary {
  let s = input.trim();
  const hash = s.indexOf('#');
  if (hash >= 0) s = s.slice(hash + 1);
  if (!s.startsWith('r=')) throw new ShareLinkError('no-report', 'the link carries no report (expected "#r=…")');
  s = s.slice(2);
  if (s.length > SHARE_LINK_MAX_CHARS * 2) throw new ShareLinkError('too-long', `the link data has ${s.length} characters, more than ${SHARE_LINK_MAX_CHARS * 2}`);
  const bytes = fromBase64Url(s);
  const raw = inflateBounded(bytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ShareLinkError('bad-json', 'the link data is not UTF-8 text');
  }
  let value: JsonValue;
  try {
    const r = parseJsonStrict(text, 'share-link', 0, 8);
    if (r.duplicates.length) throw new ShareLinkError('bad-json', `the summary repeats the key "${r.duplicates[0].key.slice(0, 40)}"`);
    value = r.value;
  } catch (e) {
    if (e instanceof ShareLinkError) throw e;
    throw new ShareLinkError('bad-json', `the link data is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return validate(value);
}
