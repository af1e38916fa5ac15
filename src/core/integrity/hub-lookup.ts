import { listFiles, pathsInfo } from '@huggingface/hub';
import type { FolderIndex } from '../formats/types';
import { readExact } from '../io/byte-source';
import { AbortedError, isAbortError, throwIfAborted } from '../io/errors';
import { HUB_MAX_FILES, HUB_MAX_GIT_BLOB, HUB_MAX_PAGES } from '../io/limits';
import { pathProblems } from '../io/paths';
import type { Finding } from '../report/finding';
import type { IntegrityResult } from '../report/report';
import { alignNames, changedFileFinding, extraFileFinding, missingFileFinding, type LocalFile } from './compare-manifest';
import type { IntegrityCheck, IntegrityOutcome } from './integrity-check';

/**
 * The opt-in Hugging Face Hub look-up (DESIGN.md "Promises": the only network use, started by the user).
 * Lists the repository's files at a revision through @huggingface/hub and compares sizes and digests
 * with the local files: `lfs.oid` is the SHA-256 of an LFS file (THREATS.md §9), `oid` of a small file is
 * its git blob SHA-1.
 */

export const HUB_URL = 'https://huggingface.co';

export type HubLookupErrorCode = 'bad-repo' | 'bad-revision' | 'not-found' | 'http' | 'network' | 'bad-response' | 'off-host' | 'too-many-files';

export class HubLookupError extends Error {
  constructor(
    readonly code: HubLookupErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(`Hub look-up: ${message}`);
    this.name = 'HubLookupError';
  }
}

export interface HubSecurityStatus {
  /** the Hub's overall verdict, e.g. `safe`, `unsafe`, `caution`, `unscanned`, `queued` */
  status: string;
  /** per scanner (avScan, pickleImportScan, jFrogScan, protectAiScan, ...) its status */
  scanners: Record<string, string>;
}

export interface HubFile {
  path: string;
  size: number;
  /** SHA-256 of the content for LFS files; null for files kept in git */
  sha256: string | null;
  /** git blob SHA-1 (of the LFS pointer for LFS files) */
  gitOid: string | null;
  lfs: boolean;
  security: HubSecurityStatus | null;
}

export interface HubDigests {
  repo: string;
  revision: string;
  hubUrl: string;
  files: HubFile[];
  /** every URL requested, in order (the page shows them: nothing else was contacted) */
  requested: string[];
  /** why the security status is missing, when it is */
  securityNote: string | null;
}

export interface HubLookupOptions {
  /** `owner/name`; datasets and spaces are not models and are refused */
  repo: string;
  /** branch, tag or commit; default `main` */
  revision?: string;
  hubUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** also ask for the Hub's security scan of each LFS file (one more request per 50 files); default true */
  securityStatus?: boolean;
}

const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION_RE = /^[A-Za-z0-9._/-]{1,255}$/;
const PATHS_INFO_BATCH = 50;

export function validateRepo(repo: string): string {
  const r = repo.trim().replace(/^https:\/\/huggingface\.co\//, '').replace(/\/+$/, '');
  if (!REPO_RE.test(r) || r.includes('..') || r.startsWith('datasets/') || r.startsWith('spaces/')) {
    throw new HubLookupError('bad-repo', `"${repo.slice(0, 100)}" is not a model repository name like "owner/model"`);
  }
  return r;
}

export function validateRevision(revision: string): string {
  const r = revision.trim() || 'main';
  if (!REVISION_RE.test(r) || r.split('/').some((c) => c === '..' || c === '.' || c === '')) {
    throw new HubLookupError('bad-revision', `"${revision.slice(0, 100)}" is not a branch, tag or commit name`);
  }
  return r;
}

/** A fetch that only talks to the Hub's origin, carries the abort signal, and records every URL. */
function guardedFetch(base: typeof fetch, origin: string, requested: string[], signal?: AbortSignal): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    // A listing's `Link: <next>` header comes from the server: never follow it to another host.
    if (url.origin !== origin) throw new HubLookupError('off-host', `refused to contact ${url.origin}: the look-up only talks to ${origin}`);
    if (requested.length >= HUB_MAX_PAGES) throw new HubLookupError('too-many-files', `more than ${HUB_MAX_PAGES} requests for one listing`);
    requested.push(url.href);
    let res: Response;
    try {
      res = await base(url.href, { ...init, signal, credentials: 'omit', redirect: 'follow' });
    } catch (e) {
      if (isAbortError(e) || signal?.aborted) throw new AbortedError();
      throw new HubLookupError('network', `could not reach ${origin} (${e instanceof Error ? e.message : String(e)}). Is the network, or the page's connect-src, blocking it?`);
    }
    if (res.url && new URL(res.url).origin !== origin) throw new HubLookupError('off-host', `the Hub redirected to ${new URL(res.url).origin}`);
    return res;
  }) as typeof fetch;
}

function mapError(e: unknown, repo: string, revision: string): never {
  if (e instanceof HubLookupError || isAbortError(e)) throw e;
  const status = (e as { statusCode?: number }).statusCode;
  if (typeof status === 'number') {
    if (status === 401 || status === 404) {
      const msg = e instanceof Error ? e.message : '';
      if (/\brev(ision)?\b|RevisionNotFound/i.test(msg)) throw new HubLookupError('not-found', `revision "${revision}" of "${repo}" was not found`, status);
      throw new HubLookupError('not-found', `"${repo}" was not found, or it is private or gated (no credentials are ever sent)`, status);
    }
    throw new HubLookupError('http', `the Hub answered HTTP ${status}`, status);
  }
  if (e instanceof SyntaxError || e instanceof TypeError) throw new HubLookupError('bad-response', `the Hub's answer is not a file listing: ${e.message}`);
  throw e;
}

function readSecurity(v: unknown): HubSecurityStatus | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const scanners: Record<string, string> = {};
  for (const [k, s] of Object.entries(o).slice(0, 32)) {
    if (k.endsWith('Scan') && typeof s === 'object' && s !== null && typeof (s as { status?: unknown }).status === 'string') scanners[k] = String((s as { status: string }).status).slice(0, 64);
  }
  return { status: typeof o.status === 'string' ? o.status.slice(0, 64) : 'unknown', scanners };
}

function readEntry(item: unknown, i: number): HubFile | null {
  const o = item as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.path !== 'string' || typeof o.type !== 'string') throw new HubLookupError('bad-response', `entry ${i} of the listing has no path or type`);
  if (o.type !== 'file') return null;
  const path = o.path;
  if (path.length > 4096 || pathProblems(path).length) throw new HubLookupError('bad-response', `entry ${i} has an unusable path "${path.slice(0, 100)}"`);
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) throw new HubLookupError('bad-response', `"${path}" has no valid size`);
  const lfs = o.lfs as { oid?: unknown; size?: unknown } | undefined;
  let sha256: string | null = null;
  if (lfs !== undefined && lfs !== null) {
    if (typeof lfs.oid !== 'string' || !/^[0-9a-f]{64}$/i.test(lfs.oid)) throw new HubLookupError('bad-response', `"${path}" has an LFS oid that is not a SHA-256`);
    sha256 = lfs.oid.toLowerCase();
  }
  const gitOid = typeof o.oid === 'string' && /^[0-9a-f]{40}$/i.test(o.oid) ? o.oid.toLowerCase() : null;
  return { path, size: o.size as number, sha256, gitOid, lfs: sha256 !== null, security: readSecurity(o.securityFileStatus) };
}

/**
 * Lists the files of `repo` at `revision` with their sizes and digests (and, by default, the Hub's
 * security status of LFS files). Every request goes to `hubUrl` only; nothing is sent but the repository
 * name, the revision and the paths of its own files.
 */
export async function lookupHubDigests(options: HubLookupOptions): Promise<HubDigests> {
  const repo = validateRepo(options.repo);
  const revision = validateRevision(options.revision ?? 'main');
  const hubUrl = (options.hubUrl ?? HUB_URL).replace(/\/+$/, '');
  const origin = new URL(hubUrl).origin;
  const requested: string[] = [];
  const f = guardedFetch(options.fetch ?? globalThis.fetch.bind(globalThis), origin, requested, options.signal);
  throwIfAborted(options.signal);
  const files: HubFile[] = [];
  try {
    let i = 0;
    // listFiles puts the revision into the path as given: encode it so `refs/pr/1` stays one segment
    // (pathsInfo encodes it itself).
    for await (const item of listFiles({ repo, revision: encodeURIComponent(revision), hubUrl, fetch: f, recursive: true, expand: false })) {
      throwIfAborted(options.signal);
      if (++i > HUB_MAX_FILES) throw new HubLookupError('too-many-files', `the repository lists more than ${HUB_MAX_FILES} entries`);
      const e = readEntry(item, i - 1);
      if (e) files.push(e);
    }
  } catch (e) {
    mapError(e, repo, revision);
  }
  let securityNote: string | null = null;
  if (options.securityStatus !== false) {
    const lfsPaths = files.filter((x) => x.lfs).map((x) => x.path);
    try {
      for (let at = 0; at < lfsPaths.length; at += PATHS_INFO_BATCH) {
        throwIfAborted(options.signal);
        const info = await pathsInfo({ repo, revision, hubUrl, fetch: f, paths: lfsPaths.slice(at, at + PATHS_INFO_BATCH), expand: true });
        for (const p of info) {
          const file = files.find((x) => x.path === p.path);
          if (file) file.security = readSecurity(p.securityFileStatus);
        }
      }
    } catch (e) {
      if (isAbortError(e)) throw e;
      securityNote = `the Hub's security status could not be read: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return { repo, revision, hubUrl, files, requested, securityNote };
}

async function gitBlobSha1(bytes: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${bytes.length}\0`);
  const buf = new Uint8Array(head.length + bytes.length);
  buf.set(head);
  buf.set(bytes, head.length);
  const d = new Uint8Array(await crypto.subtle.digest('SHA-1', buf));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const LABEL = 'the Hugging Face Hub listing';

/**
 * Compares local files with the Hub's listing: a size or digest mismatch is `dangerous`, a Hub file
 * missing locally is `info`, a local file the repository does not have is a `warning`. Files kept in git
 * (no LFS) are compared by git blob SHA-1 when `folder` can read them.
 */
export async function compareHubDigests(files: readonly LocalFile[], hub: HubDigests, folder?: FolderIndex, signal?: AbortSignal): Promise<IntegrityOutcome> {
  const results: IntegrityResult[] = [];
  const findings: Finding[] = [];
  const byPath = new Map(hub.files.map((f) => [f.path, f]));
  const mapping = alignNames(
    files.map((f) => f.name),
    new Set(byPath.keys()),
  );
  const seen = new Set<string>();
  const where = `${hub.repo}@${hub.revision}`;
  for (const f of files) {
    const key = mapping.get(f.name);
    if (key === undefined) {
      results.push({ file: f.name, source: 'hub', expected: null, actual: f.sha256, status: 'extra' });
      findings.push(extraFileFinding(f.name, f.sha256, 'hub', `${LABEL} of ${where}`, 'warning'));
      continue;
    }
    seen.add(key);
    const h = byPath.get(key)!;
    if (f.size !== undefined && f.size !== h.size) {
      results.push({ file: f.name, source: 'hub', expected: h.sha256 ?? h.gitOid, actual: f.sha256, status: 'mismatch' });
      findings.push({
        id: 'integrity/size-mismatch',
        category: 'integrity',
        severity: 'dangerous',
        title: `"${f.name}" has ${f.size} bytes; the Hub has ${h.size}`,
        detail: `${where} lists "${key}" with ${h.size} bytes, the local file has ${f.size}. The download is incomplete, changed, or from another revision.`,
        file: f.name,
        evidence: { expected: h.size, actual: f.size, source: 'hub', repo: hub.repo, revision: hub.revision },
      });
      continue;
    }
    if (h.sha256 !== null) {
      const status = f.sha256 === null ? 'unverified' : f.sha256 === h.sha256 ? 'match' : 'mismatch';
      results.push({ file: f.name, source: 'hub', expected: h.sha256, actual: f.sha256, status });
      if (status === 'mismatch') findings.push(changedFileFinding(f.name, h.sha256, f.sha256!, 'hub', `${LABEL} of ${where}`));
    } else if (h.gitOid !== null) {
      const src = folder?.get(f.name);
      if (!src || src.size > HUB_MAX_GIT_BLOB) {
        results.push({ file: f.name, source: 'hub', expected: h.gitOid, actual: null, status: 'unverified' });
        continue;
      }
      const actual = await gitBlobSha1(await readExact(src, 0, src.size, 'hub', signal));
      const status = actual === h.gitOid ? 'match' : 'mismatch';
      results.push({ file: f.name, source: 'hub', expected: h.gitOid, actual, status });
      if (status === 'mismatch') {
        findings.push({
          id: 'integrity/git-oid-mismatch',
          category: 'integrity',
          severity: 'dangerous',
          title: `"${f.name}" differs from the Hub's copy`,
          detail: `${where} stores "${key}" in git with blob SHA-1 ${h.gitOid}; the local file's blob SHA-1 is ${actual}. The file was changed after download or comes from another revision.`,
          file: f.name,
          evidence: { expected: h.gitOid, actual, algorithm: 'git-blob-sha1', source: 'hub' },
        });
      }
    } else {
      results.push({ file: f.name, source: 'hub', expected: null, actual: f.sha256, status: 'unverified' });
    }
  }
  for (const h of hub.files) {
    const present = seen.has(h.path);
    if (!present) {
      results.push({ file: h.path, source: 'hub', expected: h.sha256 ?? h.gitOid, actual: null, status: 'missing' });
      findings.push(missingFileFinding(h.path, h.sha256 ?? h.gitOid ?? '(no digest)', 'hub', `${LABEL} of ${where}`, 'info'));
    }
    const s = h.security?.status;
    if (s && s !== 'safe' && s !== 'unscanned' && s !== 'queued' && s !== 'unknown') {
      findings.push({
        id: 'hub/scanner-flagged',
        category: 'integrity',
        severity: present ? 'warning' : 'info',
        title: `The Hub's scanners mark "${h.path}" as ${s}`,
        detail: `Hugging Face's own scanners report "${s}" for "${h.path}" in ${where}${present ? '' : ' (the file was not among the inspected files)'}. Tamperscope's own findings for the file are listed separately.`,
        file: h.path,
        evidence: { status: s, scanners: h.security!.scanners, repo: hub.repo, revision: hub.revision },
      });
    }
  }
  return { results, findings };
}

/** An IntegrityCheck for inspect() with a listing fetched beforehand (the user pressed the button). */
export function hubCheck(hub: HubDigests): IntegrityCheck {
  return ({ files, folder, signal }) => compareHubDigests(files, hub, folder, signal);
}
