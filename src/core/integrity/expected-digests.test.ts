import { describe, expect, it } from 'vitest';
import { checkExpectedDigests, DigestListError, parseExpectedDigests } from './expected-digests';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

describe('expected digests', () => {
  it('parses sha256sum, binary-mode, BSD and bare lines', () => {
    const e = parseExpectedDigests(`# comment\n${A}  model.safetensors\n${B} *sub/x.bin\nSHA256 (y.json) = ${C.toUpperCase()}\n\n${A}\n`);
    expect([...e.byName]).toEqual([
      ['model.safetensors', A],
      ['sub/x.bin', B],
      ['y.json', C],
    ]);
    expect(e.any).toEqual([A]);
  });

  it('rejects bad lines with the line number', () => {
    expect(() => parseExpectedDigests(`${A}  ok\nnot a digest line`)).toThrowError(DigestListError);
    try {
      parseExpectedDigests(`${A}  ok\nabc123`);
    } catch (e) {
      expect((e as DigestListError).code).toBe('bad-hex');
      expect((e as DigestListError).line).toBe(2);
    }
    expect(() => parseExpectedDigests('   \n# only comments')).toThrowError(/no digests/);
  });

  it('match, mismatch (dangerous), and listed-but-absent files', () => {
    const files = [
      { name: 'dir/model.safetensors', sha256: A },
      { name: 'config.json', sha256: B },
    ];
    const { results, findings } = checkExpectedDigests(files, parseExpectedDigests(`${A}  model.safetensors\n${C}  config.json\n${C}  tokenizer.json`));
    expect(results.map((r) => [r.file, r.status])).toEqual([
      ['dir/model.safetensors', 'match'],
      ['config.json', 'mismatch'],
      ['tokenizer.json', 'missing'],
    ]);
    const mm = findings.find((f) => f.id === 'integrity/sha256-mismatch')!;
    expect(mm).toMatchObject({ category: 'integrity', severity: 'dangerous', file: 'config.json', evidence: { expected: C, actual: B } });
    expect(findings.find((f) => f.id === 'integrity/missing-file')!.severity).toBe('info');
  });

  it('a bare pasted digest must match one of the files', () => {
    const one = checkExpectedDigests([{ name: 'm', sha256: A }], { source: 'pasted', byName: new Map(), any: [B] });
    expect(one.findings[0]).toMatchObject({ id: 'integrity/sha256-mismatch', severity: 'dangerous' });
    const many = checkExpectedDigests([{ name: 'm', sha256: A }, { name: 'n', sha256: C }], { source: 'pasted', byName: new Map(), any: [C] });
    expect(many.findings).toEqual([]);
    expect(many.results[0]).toMatchObject({ file: 'n', status: 'match' });
    const none = checkExpectedDigests([{ name: 'm', sha256: A }, { name: 'n', sha256: C }], { source: 'pasted', byName: new Map(), any: [B] });
    expect(none.findings[0].id).toBe('integrity/no-file-matches');
  });

  it('a name listed twice with different digests is a conflict, whichever line the file matches', () => {
    for (const text of [`${A}  m.bin\r\n${B} *./m.bin\r\n`, `${B}  m.bin\n${A}  m.bin\n`]) {
      const e = parseExpectedDigests(text);
      expect([...(e.conflicts?.get('m.bin') ?? [])].sort()).toEqual([A, B]);
      const r = checkExpectedDigests([{ name: 'm.bin', sha256: A }], e);
      expect(r.findings.map((f) => `${f.id}:${f.severity}`)).toEqual(['integrity/conflicting-digests:dangerous']);
      expect(r.results.map((x) => x.status).sort()).toEqual(['match', 'mismatch']);
    }
  });

  it('a name listed twice with the same digest (also as ./name, upper-case) is no conflict', () => {
    const e = parseExpectedDigests(`${A}  m.bin\n${A.toUpperCase()}  ./m.bin\n`);
    expect(e.conflicts).toBeUndefined();
    expect(checkExpectedDigests([{ name: 'm.bin', sha256: A }], e).findings).toEqual([]);
  });
});
