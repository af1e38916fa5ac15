import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { GZIP_MAX_OUTPUT_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { detectFormats } from '../registry';
import { newScanBudget, scanContainerPayload } from '../tar/scan-tar';
import type { ParseContext } from '../types';
import { gzipHandler } from './gzip-handler';
import { decompressedName, scanGzipContent } from './scan-gzip';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'archive');
function ctxOf(name: string): ParseContext {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
}
const parse = (name: string) => gzipHandler.parse(ctxOf(name));
const pick = (fs: Finding[]) => fs.map((f) => ({ id: f.id, category: f.category, severity: f.severity, offset: f.offset }));

describe('gzip handler', () => {
  it('is the handler for gzip content; xz, bzip2 and 7z stay unscanned', () => {
    expect(detectFormats(ctxOf('evil.pkl.gz')).map((h) => h.id)).toEqual(['gzip']);
    expect(detectFormats(ctxOf('legacy-evil.tar')).map((h) => h.id)).toEqual(['tar']);
    const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]);
    expect(detectFormats({ name: 'a.xz', size: 8, head: xz, tail: xz }).map((h) => h.id)).toEqual(['xz']);
  });

  it('a gzipped malicious pickle is dangerous (pointing at the stream, with the offset inside it)', async () => {
    const p = await parse('evil.pkl.gz');
    expect(p.extra).toMatchObject({ content: 'pickle', decompressedBytes: 31, capped: false, members: 1 });
    expect(pick(p.findings)).toEqual([{ id: 'pickle/dangerous-call', category: 'code-execution', severity: 'dangerous', offset: 0 }]);
    expect(p.findings[0].evidence).toMatchObject({ member: 'evil.pkl', payloadOffset: 27 });
  });

  it('honest gzipped pickles, one member or two, are clean', async () => {
    for (const f of ['honest.pkl.gz', 'multi-member.pkl.gz']) expect((await parse(f)).findings, f).toEqual([]);
    expect((await parse('honest.pkl.gz')).extra).toMatchObject({ originalName: 'state.pkl', content: 'pickle' });
  });

  it('a gzipped legacy tar: the tar is walked and its `pickle` member scanned', async () => {
    const p = await parse('legacy-evil.tar.gz');
    expect(p.extra).toMatchObject({ content: 'tar', originalName: 'model.tar', decompressedBytes: 10240 });
    const call = p.findings.find((f) => f.id === 'pickle/dangerous-call')!;
    expect(call).toMatchObject({ severity: 'dangerous', offset: 0 });
    expect(call.evidence).toMatchObject({ member: 'legacy-evil.tar/pickle' });
    expect(p.findings.map((f) => f.id).sort()).toEqual(['pickle/dangerous-call', 'tar/legacy-pytorch']);
    expect((await parse('legacy-honest.tar.gz')).findings.map((f) => f.severity)).toEqual(['info']);
  });

  it('a decompression bomb stops at the cap with a warning, never hangs', async () => {
    const t = performance.now();
    const p = await parse('bomb-1g.gz');
    expect(performance.now() - t).toBeLessThan(30_000);
    expect(pick(p.findings)).toEqual([{ id: 'gzip/expansion-cap', category: 'malformed', severity: 'warning', offset: 0 }]);
    expect(p.findings[0].evidence).toMatchObject({ cap: GZIP_MAX_OUTPUT_BYTES, decompressed: GZIP_MAX_OUTPUT_BYTES });
    expect(p.extra).toMatchObject({ capped: true, decompressedBytes: GZIP_MAX_OUTPUT_BYTES, content: 'unknown' });
  });

  it('the file scan budget caps the output too', async () => {
    const ctx = ctxOf('bomb-1g.gz');
    const r = await scanGzipContent(ctx.source, { file: ctx.name, member: '', depth: 0, budget: { bytes: 4 * 1024 * 1024 }, baseOffset: 0 }, scanContainerPayload);
    expect(r.decompressedBytes).toBe(4 * 1024 * 1024);
    expect(pick(r.findings)).toEqual([{ id: 'gzip/scan-budget', category: 'malformed', severity: 'warning', offset: 0 }]);
  });

  it('corrupt and truncated streams are malformed errors, not crashes', async () => {
    expect(pick((await parse('corrupt.gz')).findings)).toEqual([{ id: 'gzip/corrupt', category: 'malformed', severity: 'error', offset: 0 }]);
    const t = await parse('truncated.tar.gz');
    expect(t.findings[0]).toMatchObject({ id: 'gzip/truncated', category: 'malformed', severity: 'error' });
    // the cut is reported once, by gzip, not again as a damaged tar
    expect(t.findings.some((f) => f.id === 'tar/data-out-of-bounds' || f.id === 'tar/truncated-header')).toBe(false);
  });

  it('trailing garbage and a forged CRC are warnings; the payload before them is still found', async () => {
    const g = await parse('trailing-garbage.pkl.gz');
    expect(g.findings.map((f) => [f.id, f.severity])).toEqual([
      ['gzip/trailing-data', 'warning'],
      ['pickle/dangerous-call', 'dangerous'],
    ]);
    const ctx = ctxOf('bad-crc.pkl.gz');
    const c = await gzipHandler.parse(ctx);
    expect(pick(c.findings)).toEqual([{ id: 'gzip/bad-crc', category: 'malformed', severity: 'warning', offset: ctx.size - 8 }]);
    expect(c.findings[0].evidence).toMatchObject({ members: [expect.objectContaining({ expectedCrc: 0xdeadbeef })] });
  });

  it('a header gzip refuses is an error finding', async () => {
    const b = new Uint8Array(readFileSync(join(dir, 'evil.pkl.gz')));
    b[2] = 7;
    const r = await scanGzipContent(new MemorySource(b, 'x.gz'), { file: 'x.gz', member: '', depth: 0, budget: newScanBudget(), baseOffset: 0 }, scanContainerPayload);
    expect(pick(r.findings)).toEqual([{ id: 'gzip/bad-header', category: 'malformed', severity: 'error', offset: 0 }]);
  });

  it('names the decompressed stream after the file', () => {
    expect(decompressedName('model.tar.gz')).toBe('model.tar');
    expect(decompressedName('ckpt.tgz')).toBe('ckpt.tar');
    expect(decompressedName('blob')).toBe('blob (decompressed)');
  });
});
