import { basename } from '../io/paths';
import type { Finding } from '../report/finding';
import type { IntegrityResult, IntegritySource } from '../report/report';
import { extraFileFinding } from './compare-manifest';

/** Digests a user or publisher announced. `any` digests name no file: they must match one of the files. */
export interface ExpectedDigests {
  source: IntegritySource;
  byName: Map<string, string>;
  any: string[];
  /**
   * The list is a complete manifest of the model folder (a SHA256SUMS made with `sha256sum *`): files it
   * does not name are reported as `extra` (warning). Default false: a partial list names what it names.
   */
  complete?: boolean;
  /**
   * Names the list gives more than one different digest (`sha256sum -c` checks every line, so one of them
   * must fail): name → every digest given, in order. Absent when there are none.
   */
  conflicts?: Map<string, string[]>;
}

export class DigestListError extends Error {
  constructor(
    readonly code: 'bad-line' | 'bad-hex' | 'empty',
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'DigestListError';
  }
}

/**
 * Parses what people paste or download next to a model: a bare hex digest, `sha256sum` output
 * (`<hex>  <name>` or `<hex> *<name>`), or BSD style (`SHA256 (name) = <hex>`). Blank lines and `#`
 * comments are skipped; anything else is a DigestListError naming the line.
 */
export function parseExpectedDigests(text: string, source: IntegritySource = 'checksums'): ExpectedDigests {
  const out: ExpectedDigests = { source, byName: new Map(), any: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let m = /^([0-9a-fA-F]{64})$/.exec(line);
    if (m) {
      out.any.push(m[1].toLowerCase());
      return;
    }
    m = /^([0-9a-fA-F]{64}) [ *]?(.+)$/.exec(line);
    if (m) {
      add(out, normaliseName(m[2]), m[1].toLowerCase());
      return;
    }
    m = /^SHA256 ?\((.+)\) ?= ?([0-9a-fA-F]{64})$/.exec(line);
    if (m) {
      add(out, normaliseName(m[1]), m[2].toLowerCase());
      return;
    }
    if (/^[0-9a-fA-F]+$/.test(line)) throw new DigestListError('bad-hex', i + 1, `line ${i + 1}: a SHA-256 digest has 64 hex digits, found ${line.length}`);
    throw new DigestListError('bad-line', i + 1, `line ${i + 1}: expected "<64 hex digits>  <file name>", found "${line.slice(0, 80)}"`);
  });
  if (out.byName.size === 0 && out.any.length === 0) throw new DigestListError('empty', 0, 'no digests found');
  return out;
}

/** Records a named digest; a name already listed with another digest becomes a conflict (the first digest stays in byName). */
function add(out: ExpectedDigests, name: string, digest: string): void {
  const had = out.byName.get(name);
  if (had === undefined) {
    out.byName.set(name, digest);
    return;
  }
  if (had === digest && !out.conflicts?.has(name)) return;
  out.conflicts ??= new Map();
  const list = out.conflicts.get(name) ?? [had];
  if (!list.includes(digest)) list.push(digest);
  if (list.length > 1) out.conflicts.set(name, list);
}

function normaliseName(n: string): string {
  return n.trim().replace(/^\.\//, '').replace(/\\/g, '/');
}

/**
 * Compares the files' digests with the expected ones. A named digest matches a file by relative path,
 * else by base name. A digest naming no file must equal the digest of one of the files. Mismatches are
 * `integrity` findings at `dangerous`: the bytes are not the ones the publisher (or the user) vouched for.
 */
export function checkExpectedDigests(
  files: readonly { name: string; sha256: string | null }[],
  expected: ExpectedDigests,
): { results: IntegrityResult[]; findings: Finding[] } {
  const results: IntegrityResult[] = [];
  const findings: Finding[] = [];
  const used = new Set<string>();
  for (const f of files) {
    const key = expected.byName.has(f.name) ? f.name : expected.byName.has(basename(f.name)) ? basename(f.name) : null;
    if (key === null) continue;
    used.add(key);
    const conflicting = expected.conflicts?.get(key);
    if (conflicting) {
      // a list that vouches for two different contents vouches for neither: the line the file fails is a mismatch
      const failed = conflicting.filter((d) => d !== f.sha256);
      for (const want of failed) results.push({ file: f.name, source: expected.source, expected: want, actual: f.sha256, status: f.sha256 === null ? 'unverified' : 'mismatch' });
      if (failed.length < conflicting.length) results.push({ file: f.name, source: expected.source, expected: f.sha256, actual: f.sha256, status: 'match' });
      findings.push({
        id: 'integrity/conflicting-digests',
        category: 'integrity',
        severity: 'dangerous',
        title: `The digest list gives ${conflicting.length} different SHA-256 digests for "${key}"`,
        detail: `"${key}" is listed ${conflicting.length} times with different digests (${conflicting.join(', ')}); the file's digest is ${f.sha256 ?? 'unknown'}. \`sha256sum -c\` fails on every line the file does not match, and a list that vouches for two contents vouches for neither: a line was added or edited.`,
        file: f.name,
        evidence: { digests: conflicting, actual: f.sha256, source: expected.source },
      });
      continue;
    }
    const want = expected.byName.get(key)!;
    const status = f.sha256 === null ? 'unverified' : f.sha256 === want ? 'match' : 'mismatch';
    results.push({ file: f.name, source: expected.source, expected: want, actual: f.sha256, status });
    if (status === 'mismatch') findings.push(mismatch(f.name, want, f.sha256!, expected.source));
  }
  for (const want of expected.any) {
    const hit = files.find((f) => f.sha256 === want);
    if (hit) {
      results.push({ file: hit.name, source: expected.source, expected: want, actual: want, status: 'match' });
    } else if (files.length === 1 && files[0].sha256 !== null) {
      results.push({ file: files[0].name, source: expected.source, expected: want, actual: files[0].sha256, status: 'mismatch' });
      findings.push(mismatch(files[0].name, want, files[0].sha256, expected.source));
    } else {
      results.push({ file: '', source: expected.source, expected: want, actual: null, status: 'missing' });
      findings.push({
        id: 'integrity/no-file-matches',
        category: 'integrity',
        severity: 'dangerous',
        title: 'No file has the expected SHA-256',
        detail: `The expected digest ${want} matches none of the ${files.length} files inspected. The download is not the file that was vouched for.`,
        evidence: { expected: want, files: files.map((f) => ({ name: f.name, sha256: f.sha256 })) },
      });
    }
  }
  if (expected.complete) {
    for (const f of files) {
      if (expected.byName.has(f.name) || expected.byName.has(basename(f.name)) || expected.any.includes(f.sha256 ?? '')) continue;
      results.push({ file: f.name, source: expected.source, expected: null, actual: f.sha256, status: 'extra' });
      findings.push(extraFileFinding(f.name, f.sha256, expected.source, 'the digest list', 'warning'));
    }
  }
  for (const [name, want] of expected.byName) {
    if (used.has(name)) continue;
    results.push({ file: name, source: expected.source, expected: want, actual: null, status: 'missing' });
    findings.push({
      id: 'integrity/missing-file',
      category: 'integrity',
      severity: 'info',
      title: `"${name}" is listed but was not inspected`,
      detail: `The digest list names "${name}", which is not among the inspected files. If the model needs it, inspect the whole folder.`,
      file: name,
      evidence: { expected: want },
    });
  }
  return { results, findings };
}

function mismatch(file: string, expected: string, actual: string, source: IntegritySource): Finding {
  return {
    id: 'integrity/sha256-mismatch',
    category: 'integrity',
    severity: 'dangerous',
    title: `SHA-256 of "${basename(file)}" does not match the expected digest`,
    detail: `Expected ${expected} (${source}), found ${actual}. The file was changed, corrupted, or is not the file that was vouched for.`,
    file,
    evidence: { expected, actual, source },
  };
}
