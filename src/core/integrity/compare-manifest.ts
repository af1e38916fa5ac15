import { basename } from '../io/paths';
import type { Finding, Severity } from '../report/finding';
import type { IntegrityResult, IntegritySource } from '../report/report';

/** A local file as the integrity checks see it: relative path, size, SHA-256 (null when not hashed). */
export interface LocalFile {
  name: string;
  size?: number;
  sha256: string | null;
}

export interface CompareManifestOptions {
  source: IntegritySource;
  /** names the manifest in prose: `the signed manifest in model.sig` */
  label: string;
  /** severity of a listed file that is not among the local files */
  missingSeverity: Severity;
  /** severity of a local file the manifest does not list; null: extras are not reported */
  extraSeverity: Severity | null;
  /** local files that never count as extra (the signature file, git metadata) */
  ignore?: (name: string) => boolean;
}

/**
 * Maps local names onto manifest names. Manifests name files relative to the model folder; a dropped
 * folder may still carry its own name as the first component, so when nothing matches as is, that common
 * first component is stripped.
 */
export function alignNames(local: readonly string[], manifest: ReadonlySet<string>): Map<string, string> {
  const direct = new Map<string, string>();
  for (const n of local) if (manifest.has(n)) direct.set(n, n);
  if (direct.size > 0 || local.length === 0) return direct;
  const firsts = new Set(local.map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/')) : '')));
  if (firsts.size !== 1 || firsts.has('')) return direct;
  const strip = [...firsts][0].length + 1;
  const out = new Map<string, string>();
  for (const n of local) if (manifest.has(n.slice(strip))) out.set(n, n.slice(strip));
  return out;
}

/**
 * File-by-file comparison of local files with a complete manifest (name → SHA-256): every listed file
 * must be present with that digest, and every local file must be listed. A changed file is `dangerous`
 * (THREATS.md §9); missing and extra files get the severities the source calls for.
 */
export function compareManifest(files: readonly LocalFile[], manifest: ReadonlyMap<string, string>, options: CompareManifestOptions): { results: IntegrityResult[]; findings: Finding[] } {
  const results: IntegrityResult[] = [];
  const findings: Finding[] = [];
  const ignore = options.ignore ?? (() => false);
  const considered = files.filter((f) => !ignore(f.name));
  const mapping = alignNames(
    considered.map((f) => f.name),
    new Set(manifest.keys()),
  );
  const seen = new Set<string>();
  for (const f of considered) {
    const key = mapping.get(f.name);
    if (key === undefined) {
      if (options.extraSeverity === null) continue;
      results.push({ file: f.name, source: options.source, expected: null, actual: f.sha256, status: 'extra' });
      findings.push(extraFileFinding(f.name, f.sha256, options.source, options.label, options.extraSeverity));
      continue;
    }
    seen.add(key);
    const want = manifest.get(key)!;
    const status = f.sha256 === null ? 'unverified' : f.sha256 === want ? 'match' : 'mismatch';
    results.push({ file: f.name, source: options.source, expected: want, actual: f.sha256, status });
    if (status === 'mismatch') findings.push(changedFileFinding(f.name, want, f.sha256!, options.source, options.label));
  }
  for (const [name, want] of manifest) {
    if (seen.has(name)) continue;
    results.push({ file: name, source: options.source, expected: want, actual: null, status: 'missing' });
    findings.push(missingFileFinding(name, want, options.source, options.label, options.missingSeverity));
  }
  return { results, findings };
}

export function changedFileFinding(file: string, expected: string, actual: string, source: IntegritySource, label: string): Finding {
  return {
    id: 'integrity/sha256-mismatch',
    category: 'integrity',
    severity: 'dangerous',
    title: `SHA-256 of "${basename(file)}" does not match ${label}`,
    detail: `Expected ${expected} (${source}), found ${actual}. The file was changed after it was vouched for, corrupted, or replaced.`,
    file,
    evidence: { expected, actual, source },
  };
}

export function missingFileFinding(file: string, expected: string, source: IntegritySource, label: string, severity: Severity): Finding {
  return {
    id: 'integrity/missing-file',
    category: 'integrity',
    severity,
    title: `"${file}" is listed in ${label} but was not inspected`,
    detail: `${label[0].toUpperCase()}${label.slice(1)} lists "${file}" (SHA-256 ${expected}), which is not among the inspected files. If the model needs it, it is missing from the download; otherwise inspect the whole folder.`,
    file,
    evidence: { expected, source },
  };
}

export function extraFileFinding(file: string, actual: string | null, source: IntegritySource, label: string, severity: Severity): Finding {
  return {
    id: 'integrity/extra-file',
    category: 'integrity',
    severity,
    title: `"${basename(file)}" is not listed in ${label}`,
    detail: `"${file}" is in the inspected folder but ${label} does not list it: it was added after signing or publishing, and nothing vouches for it. A loader may still read it.`,
    file,
    evidence: { actual, source },
  };
}
