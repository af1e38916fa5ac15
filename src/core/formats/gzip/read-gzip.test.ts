import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemorySource, type ByteSource } from '../../io/byte-source';
import { GZIP_PUSH_BYTES } from '../../io/limits';
import { ChunkedSource, gunzipCapped, parseGzipHeader, sniffGzip } from './read-gzip';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'archive');
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const load = (name: string) => new MemorySource(bytesOf(name), name);
const all = async (s: ByteSource) => s.read(0, s.size);

describe('gunzipCapped against zlib', () => {
  it.each(['legacy-honest.tar.gz', 'legacy-evil.tar.gz', 'evil.pkl.gz', 'honest.pkl.gz', 'multi-member.pkl.gz'])('%s: the bytes zlib inflates, every trailer checked', async (file) => {
    const r = await gunzipCapped(load(file));
    expect(r.error).toBeUndefined();
    expect(r.capped).toBe(false);
    expect([...(await all(r.output))]).toEqual([...gunzipSync(bytesOf(file))]);
    expect(r.trailers.length).toBe(r.members);
    expect(r.trailers.every((t) => t.crcOk && t.sizeOk)).toBe(true);
  });

  it('a multi-member stream: both members, both trailers, at their offsets', async () => {
    const b = bytesOf('multi-member.pkl.gz');
    const r = await gunzipCapped(new MemorySource(b), { readChunk: 7 });
    expect(r.members).toBe(2);
    expect(r.trailers.map((t) => t.offset)).toEqual([b.indexOf(0x1f, 10) - 8, b.length - 8]);
    expect(r.trailers.map((t) => t.size)).toEqual([20, 44]);
  });

  it('a forged CRC is caught, the content still inflated', async () => {
    const r = await gunzipCapped(load('bad-crc.pkl.gz'));
    expect(r.error).toBeUndefined();
    expect(r.trailers).toEqual([expect.objectContaining({ crcOk: false, sizeOk: true, expectedCrc: 0xdeadbeef })]);
    expect(r.output.size).toBe(64);
  });

  it('corrupt, truncated and trailing-garbage streams: typed errors, output before the damage kept', async () => {
    const corrupt = await gunzipCapped(load('corrupt.gz'));
    expect(corrupt.error).toMatchObject({ kind: 'corrupt', message: 'invalid block type', offset: 0 });
    expect(corrupt.output.size).toBe(0);

    const truncated = await gunzipCapped(load('truncated.tar.gz'));
    expect(truncated.error).toMatchObject({ kind: 'truncated', message: 'unexpected EOF' });
    expect(truncated.trailers).toEqual([]);

    const trailing = await gunzipCapped(load('trailing-garbage.pkl.gz'));
    expect(trailing.error).toMatchObject({ kind: 'trailing-data' });
    // the whole pickle came out before the garbage
    expect([...(await all(trailing.output))]).toEqual([...gunzipSync(bytesOf('evil.pkl.gz'))]);
  });

  it('an expansion bomb stops at the cap, having read only a sliver of its input', async () => {
    const src = load('bomb-1g.gz');
    const cap = 8 * 1024 * 1024;
    const r = await gunzipCapped(src, { maxBytes: cap });
    expect(r.capped).toBe(true);
    expect(r.output.size).toBe(cap);
    expect(r.error).toBeUndefined();
    expect(r.trailers).toEqual([]);
    // one push inflates ~1032x at most: the cap is reached within a few pushes, not at the end of the file
    expect(r.inputRead).toBeLessThanOrEqual(cap / 1000 + 2 * GZIP_PUSH_BYTES);
    expect(r.inputRead).toBeLessThan(src.size / 50);
    expect(await r.output.read(cap - 4, 10)).toEqual(new Uint8Array(4));
  });
});

describe('gzip header and sniff', () => {
  it('reads the original name, mtime and OS that Python gzip wrote', () => {
    expect(parseGzipHeader(bytesOf('legacy-evil.tar.gz'))).toMatchObject({ method: 8, name: 'model.tar', mtime: 0, length: 20 });
    expect(parseGzipHeader(bytesOf('evil.pkl.gz'))).toMatchObject({ method: 8, length: 10 });
    expect((parseGzipHeader(bytesOf('evil.pkl.gz')) as { name?: string }).name).toBeUndefined();
  });

  it('refuses what gzip refuses', () => {
    const b = bytesOf('evil.pkl.gz').slice();
    b[2] = 9;
    expect(parseGzipHeader(b)).toMatch(/compression method 9/);
    expect(parseGzipHeader(b.subarray(0, 6))).toMatch(/ends inside/);
    const named = bytesOf('legacy-evil.tar.gz').slice(0, 15); // FNAME without its NUL
    expect(parseGzipHeader(named)).toMatch(/no terminating NUL/);
  });

  it('sniffs the magic only', () => {
    expect(sniffGzip(bytesOf('corrupt.gz'))).toBe(true);
    expect(sniffGzip(bytesOf('legacy-honest.tar'))).toBe(false);
  });
});

describe('ChunkedSource', () => {
  it('reads ranges within and across chunks, clamped to its size', async () => {
    const s = new ChunkedSource([new Uint8Array([0, 1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6, 7])], 'x');
    expect(s.size).toBe(8);
    expect([...(await s.read(0, 2))]).toEqual([0, 1]);
    expect([...(await s.read(2, 4))]).toEqual([2, 3, 4, 5]);
    expect([...(await s.read(3, 1))]).toEqual([3]);
    expect([...(await s.read(6, 100))]).toEqual([6, 7]);
    expect([...(await s.read(9, 1))]).toEqual([]);
  });
});
