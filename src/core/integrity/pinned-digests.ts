import { basename } from '../io/paths';
import type { Finding } from '../report/finding';
import type { IntegrityResult } from '../report/report';
import type { LocalFile } from './compare-manifest';
import type { IntegrityCheck, IntegrityOutcome } from './integrity-check';

/** A digest the user trusted and pinned: later files with the same name are compared with it. */
export interface PinnedDigest {
  /** the file name as inspected (a relative path) or a bare base name */
  name: string;
  sha256: string;
  /** ISO time the pin was made */
  pinnedAt: string;
  note?: string;
}

/**
 * Compares files with the user's pinned digests: by exact relative path, else by base name. A different
 * digest is a `warning` (not `dangerous`): the same name may well belong to another model, and the finding
 * says so; when it is the same model, the file changed since the user trusted it.
 */
export function checkPinnedDigests(files: readonly LocalFile[], pins: readonly PinnedDigest[]): IntegrityOutcome {
  const results: IntegrityResult[] = [];
  const findings: Finding[] = [];
  const byName = new Map(pins.map((p) => [p.name, p]));
  for (const f of files) {
    const pin = byName.get(f.name) ?? byName.get(basename(f.name));
    if (!pin || f.sha256 === null) continue;
    const status = f.sha256 === pin.sha256 ? 'match' : 'mismatch';
    results.push({ file: f.name, source: 'pinned', expected: pin.sha256, actual: f.sha256, status });
    if (status === 'mismatch') {
      findings.push({
        id: 'integrity/pinned-digest-changed',
        category: 'integrity',
        severity: 'warning',
        title: `"${basename(f.name)}" differs from the digest you pinned`,
        detail: `On ${pin.pinnedAt.slice(0, 10)} you pinned ${pin.sha256} as the trusted digest of "${pin.name}"${pin.note ? ` (${pin.note})` : ''}; this file has ${f.sha256}. If this is the same model, it changed since you trusted it; if it is another model with a file of the same name, unpin or ignore this.`,
        file: f.name,
        evidence: { expected: pin.sha256, actual: f.sha256, source: 'pinned', pinnedAt: pin.pinnedAt },
      });
    }
  }
  return { results, findings };
}

/** An IntegrityCheck for inspect() over the pins loaded from storage. */
export function pinnedCheck(pins: readonly PinnedDigest[]): IntegrityCheck {
  return async ({ files }) => checkPinnedDigests(files, pins);
}
