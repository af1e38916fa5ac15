import { describe, expect, it } from 'vitest';
import { alignNames, compareManifest } from './compare-manifest';
import { checkExpectedDigests, parseExpectedDigests } from './expected-digests';
import { checkPinnedDigests } from './pinned-digests';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const files = [
  { name: 'model.safetensors', size: 10, sha256: A },
  { name: 'config.json', size: 2, sha256: B },
];
const ids = (fs: { id: string; severity: string }[]) => fs.map((f) => `${f.id}:${f.severity}`).sort();

describe('complete SHA256SUMS manifests, one test per mismatch kind', () => {
  const sums = (text: string) => ({ ...parseExpectedDigests(text), complete: true });
  it('all listed and equal: no findings', () => {
    const r = checkExpectedDigests(files, sums(`${A}  model.safetensors\n${B}  config.json`));
    expect(r.findings).toEqual([]);
    expect(r.results.map((x) => x.status)).toEqual(['match', 'match']);
  });
  it('changed', () => {
    const r = checkExpectedDigests(files, sums(`${C}  model.safetensors\n${B}  config.json`));
    expect(ids(r.findings)).toEqual(['integrity/sha256-mismatch:dangerous']);
  });
  it('missing', () => {
    const r = checkExpectedDigests(files, sums(`${A}  model.safetensors\n${B}  config.json\n${C}  tokenizer.json`));
    expect(ids(r.findings)).toEqual(['integrity/missing-file:info']);
  });
  it('extra (only when the list is complete)', () => {
    const r = checkExpectedDigests(files, sums(`${A}  model.safetensors`));
    expect(ids(r.findings)).toEqual(['integrity/extra-file:warning']);
    expect(r.results.find((x) => x.file === 'config.json')).toMatchObject({ status: 'extra', expected: null, actual: B, source: 'checksums' });
    expect(checkExpectedDigests(files, parseExpectedDigests(`${A}  model.safetensors`)).findings).toEqual([]);
  });
});

describe('compareManifest', () => {
  it('reports changed, missing and extra with the severities asked for, skipping ignored files', () => {
    const r = compareManifest(
      [...files, { name: 'model.sig', size: 1, sha256: C }, { name: 'extra.py', size: 1, sha256: C }],
      new Map([
        ['model.safetensors', C],
        ['config.json', B],
        ['gone.bin', A],
      ]),
      { source: 'model.sig', label: 'the manifest', missingSeverity: 'warning', extraSeverity: 'warning', ignore: (n) => n === 'model.sig' },
    );
    expect(r.results.map((x) => [x.file, x.status])).toEqual([
      ['model.safetensors', 'mismatch'],
      ['config.json', 'match'],
      ['extra.py', 'extra'],
      ['gone.bin', 'missing'],
    ]);
    expect(ids(r.findings)).toEqual(['integrity/extra-file:warning', 'integrity/missing-file:warning', 'integrity/sha256-mismatch:dangerous']);
  });
  it('strips a common top folder only when nothing matches as is', () => {
    expect([...alignNames(['m/a', 'm/b/c'], new Set(['a', 'b/c']))]).toEqual([
      ['m/a', 'a'],
      ['m/b/c', 'b/c'],
    ]);
    expect([...alignNames(['a', 'm/a'], new Set(['a']))]).toEqual([['a', 'a']]);
  });
});

describe('pinned digests', () => {
  const pins = [{ name: 'model.safetensors', sha256: A, pinnedAt: '2025-01-01T00:00:00.000Z' }];
  it('same name and digest: match, no finding', () => {
    const r = checkPinnedDigests([{ name: 'sub/model.safetensors', sha256: A }], pins);
    expect(r.results).toEqual([{ file: 'sub/model.safetensors', source: 'pinned', expected: A, actual: A, status: 'match' }]);
    expect(r.findings).toEqual([]);
  });
  it('same name, other digest: a warning naming both digests', () => {
    const r = checkPinnedDigests([{ name: 'model.safetensors', sha256: B }, { name: 'other.bin', sha256: C }], pins);
    expect(r.results.map((x) => x.status)).toEqual(['mismatch']);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ id: 'integrity/pinned-digest-changed', severity: 'warning', category: 'integrity', evidence: { expected: A, actual: B } });
  });
});
