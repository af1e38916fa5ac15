import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { crc32Update } from './crc32';
import { findEntry, openZipMember, readZip, readZipMember, zipMemberSource } from './read-zip';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'zip');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { size: number; entries: { name: string; method: number; flags: number; compressedSize: number; uncompressedSize: number; crc32: number; localHeaderOffset: number; dataOffset: number; isDirectory: boolean; sha256: string | null }[] }
>;
const load = (name: string) => new MemorySource(new Uint8Array(readFileSync(join(dir, name))), name);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('readZip against Python zipfile', () => {
  for (const [file, exp] of Object.entries(expected)) {
    it(`${file}: every entry as zipfile lists it, no anomalies, content hashes match`, async () => {
      const src = load(file);
      const zip = await readZip(src);
      expect(zip.anomalies).toEqual([]);
      expect(zip.size).toBe(exp.size);
      expect(zip.entries.map((e) => e.name)).toEqual(exp.entries.map((e) => e.name));
      for (const [i, e] of exp.entries.entries()) {
        const z = zip.entries[i];
        expect({ name: z.name, method: z.method, flags: z.flags, compressedSize: z.compressedSize, uncompressedSize: z.uncompressedSize, crc32: z.crc32, localHeaderOffset: z.localHeaderOffset, dataOffset: z.dataOffset, isDirectory: z.isDirectory }).toEqual({
          name: e.name, method: e.method, flags: e.flags, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize, crc32: e.crc32, localHeaderOffset: e.localHeaderOffset, dataOffset: e.dataOffset, isDirectory: e.isDirectory,
        });
        expect(z.inCentral && z.inLocal).toBe(true);
        expect(z.localName).toBe(e.name);
        if (e.sha256) {
          const m = await readZipMember(src, z);
          expect(m.truncated).toBe(false);
          expect(m.crcOk).toBe(true);
          expect(m.bytes.length).toBe(e.uncompressedSize);
          expect(sha(m.bytes)).toBe(e.sha256);
        }
      }
    });
  }

  it('reads the ZIP64 end record', async () => {
    const zip = await readZip(load('zip64.zip'));
    expect(zip.zip64).toBe(true);
  });

  it('decodes UTF-8 names (flag bit 11)', async () => {
    const zip = await readZip(load('stored.zip'));
    expect(findEntry(zip, 'archive/na\u00efve-\u00fcnicode.txt')?.flags).toBe(0x800);
  });

  it('serves a stored member as a ranged source and refuses a compressed one', async () => {
    const src = load('stored.zip');
    const zip = await readZip(src);
    const e = findEntry(zip, 'archive/data.bin')!;
    const m = zipMemberSource(src, e);
    expect(m.size).toBe(16384);
    expect([...(await m.read(255, 3))]).toEqual([255, 0, 1]);
    const d = load('deflated.zip');
    const dz = await readZip(d);
    expect(() => zipMemberSource(d, findEntry(dz, 'weights.bin')!)).toThrow(ParseError);
    const opened = await openZipMember(d, findEntry(dz, 'weights.bin')!);
    expect(opened.source.size).toBe(16384);
    expect(opened.crcOk).toBe(true);
  });

  it('caps inflated output and reports truncation instead of allocating the declared size', async () => {
    const d = load('deflated.zip');
    const zip = await readZip(d);
    const m = await readZipMember(d, findEntry(zip, 'weights.bin')!, { maxBytes: 1000 });
    expect(m.bytes.length).toBe(1000);
    expect(m.truncated).toBe(true);
    expect(m.crcOk).toBeNull();
  });

  it('crc32 matches the reference value of "123456789"', () => {
    expect(crc32Update(0, new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('rejects bytes that are no zip with a typed error', async () => {
    await expect(readZip(new MemorySource(new Uint8Array(100), 'zeros'))).rejects.toMatchObject({ code: 'no-eocd', format: 'zip' });
    await expect(readZip(new MemorySource(new Uint8Array(5), 'tiny'))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('still lists local entries when the central directory is cut off', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'deflated.zip')));
    const cut = bytes.subarray(0, expected['deflated.zip'].entries[2].dataOffset + 2);
    const zip = await readZip(new MemorySource(cut, 'cut.zip'));
    expect(zip.anomalies.map((a) => a.code)).toContain('no-central-directory');
    expect(zip.entries.map((e) => [e.name, e.inCentral, e.inLocal])).toEqual([
      ['weights.bin', false, true],
      ['notes/readme.txt', false, true],
      ['empty.txt', false, true],
    ]);
  });
});
