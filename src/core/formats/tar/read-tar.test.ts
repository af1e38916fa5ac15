import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource, type ByteSource } from '../../io/byte-source';
import { TAR_READ_WINDOW } from '../../io/limits';
import { checksumOk, fieldNumber, headerChecksums, parsePaxRecords, readTar, sniffTar, tarMemberSource } from './read-tar';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'archive');
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const load = (name: string) => new MemorySource(bytesOf(name), name);
/** What Python's tarfile lists for each archive (written by make_containers.py). */
const expected = JSON.parse(readFileSync(join(dir, 'containers-expected.json'), 'utf8')) as Record<
  string,
  { size: number; error?: string; entries?: { name: string; type: string; offset: number; dataOffset: number; size: number; linkname: string }[] }
>;

/** Rewrites a header's checksum after a patch, as an archiver would have written it. */
function fixChecksum(b: Uint8Array, at: number): void {
  const block = b.subarray(at, at + 512);
  const sum = headerChecksums(block)[0];
  block.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
}

describe('readTar against Python tarfile', () => {
  for (const [file, exp] of Object.entries(expected)) {
    const listed = exp.entries;
    if (!listed) continue;
    it(`${file}: the members tarfile lists, at the offsets it reports`, async () => {
      const tar = await readTar(load(file));
      expect(tar.size).toBe(exp.size);
      const visible = tar.entries.filter((e) => !e.hidden);
      expect(visible.map((e) => ({ name: e.name, type: e.typeflag, offset: e.offset, dataOffset: e.dataOffset, size: e.size, linkname: e.linkName }))).toEqual(
        listed.map((e) => ({ name: e.name, type: e.type, offset: e.offset, dataOffset: e.dataOffset, size: e.size, linkname: e.linkname })),
      );
    });
  }

  it('honest archives from tarfile have no anomalies, whatever the dialect', async () => {
    for (const [file, dialect] of [['legacy-honest.tar', 'ustar'], ['gnu-longname.tar', 'gnu'], ['pax-honest.tar', 'pax'], ['special-members.tar', 'ustar'], ['v7-evil.tar', 'v7']] as const) {
      const tar = await readTar(load(file));
      expect(tar.anomalies, file).toEqual([]);
      expect(tar.dialect, file).toBe(dialect);
      expect(tar.endOffset, file).not.toBeNull();
    }
  });

  it('GNU long names and pax path records name the member', async () => {
    const gnu = await readTar(load('gnu-longname.tar'));
    expect(gnu.entries[0].name).toBe(`checkpoints/${'a-rather-long-directory-name/'.repeat(5)}state.pkl`);
    expect(gnu.entries[0].gnuLongName).toBe(true);
    const pax = await readTar(load('pax-honest.tar'));
    expect(pax.entries[0].name).toBe('mod\u00e8le/\u00e9tat.pkl');
    expect(pax.entries[0].pax?.comment).toBe('made by make_containers.py'); // the global header applies to every member
    const evil = await readTar(load('pax-traversal.tar'));
    expect(evil.entries[0].name).toBe('../../home/user/.bashrc');
  });

  it('member data is served as a ranged slice', async () => {
    const src = load('legacy-evil.tar');
    const tar = await readTar(src);
    const pickle = tar.entries.find((e) => e.name === 'pickle')!;
    const m = tarMemberSource(src, pickle);
    expect(m.size).toBe(31);
    expect([...(await m.read(0, 2))]).toEqual([0x80, 0x02]);
    expect([...(await m.read(27, 1))]).toEqual([0x52]); // REDUCE
  });

  it('links and special members keep their type, target and zero data', async () => {
    const tar = await readTar(load('special-members.tar'));
    expect(tar.entries.map((e) => [e.kind, e.linkName, e.hasContent])).toEqual([
      ['file', '', true],
      ['hardlink', 'model/config.txt', false],
      ['fifo', '', false],
      ['char-device', '', false],
    ]);
    const sym = await readTar(load('symlink.tar'));
    expect(sym.entries[0]).toMatchObject({ kind: 'symlink', linkName: '/etc/passwd', hasContent: false });
  });
});

describe('readTar on damaged and hostile archives', () => {
  it('truncated data: the member is listed and the cut reported, never thrown', async () => {
    const tar = await readTar(load('truncated.tar'));
    expect(tar.entries.map((e) => e.name)).toEqual(['sys_info', 'pickle', 'storages']);
    expect(tar.anomalies).toEqual([expect.objectContaining({ code: 'data-out-of-bounds', offset: 2048, entry: 'storages' })]);
    expect(tar.endOffset).toBeNull();
  });

  it('a file that ends inside a header', async () => {
    const tar = await readTar(new MemorySource(bytesOf('legacy-honest.tar').subarray(0, 1024 + 300)));
    expect(tar.entries.map((e) => e.name)).toEqual(['sys_info']);
    expect(tar.anomalies.map((a) => [a.code, a.offset])).toEqual([['truncated-header', 1024], ['no-end-marker', 1024]]);
  });

  it('a bad checksum: reported, and the walk resumes at the next valid header', async () => {
    const tar = await readTar(load('bad-checksum.tar'));
    expect(tar.anomalies.map((a) => [a.code, a.offset])).toEqual([['bad-checksum', 1024]]);
    expect(tar.entries.map((e) => e.name)).toEqual(['a.txt']);
    // a third member after the damaged one is found again, marked as hidden from tarfile
    const b = bytesOf('bad-checksum.tar').slice();
    const again = bytesOf('legacy-honest.tar').subarray(0, 1024); // sys_info header + data
    b.set(again, 2048);
    const t2 = await readTar(new MemorySource(b));
    expect(t2.entries.map((e) => [e.name, e.hidden ?? null])).toEqual([['a.txt', null], ['sys_info', 'after-damage']]);
  });

  it('members appended after the end marker are found and marked', async () => {
    const tar = await readTar(load('hidden-after-end.tar'));
    expect(tar.endOffset).toBe(1024);
    expect(tar.anomalies.map((a) => [a.code, a.offset])).toEqual([['data-after-end', 10240]]);
    expect(tar.entries.map((e) => [e.name, e.hidden ?? null, e.dataOffset])).toEqual([['a.txt', null, 512], ['model.pkl', 'after-end', 10752]]);
  });

  it('non-zero bytes after the end marker that are not a header', async () => {
    const b = bytesOf('traversal-parent.tar').slice();
    b.set(new TextEncoder().encode('polyglot tail'), 5000);
    const tar = await readTar(new MemorySource(b));
    expect(tar.anomalies.map((a) => [a.code, a.offset])).toEqual([['trailing-data', 4608]]);
  });

  it('sizes beyond the file, in octal and in GNU base-256, are bounds-checked', async () => {
    const b = bytesOf('legacy-honest.tar').slice();
    b.set(new TextEncoder().encode('77777777777\0'), 1024 + 124); // `pickle`: 8 GiB
    fixChecksum(b, 1024);
    const t = await readTar(new MemorySource(b));
    expect(t.entries.map((e) => e.name)).toEqual(['sys_info', 'pickle']);
    expect(t.anomalies).toEqual([expect.objectContaining({ code: 'data-out-of-bounds', offset: 1024 })]);

    const huge = bytesOf('legacy-honest.tar').slice();
    huge.set([0x80, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0], 1024 + 124); // base-256: 2^60, past 2^53
    fixChecksum(huge, 1024);
    const th = await readTar(new MemorySource(huge));
    expect(th.anomalies[0]).toMatchObject({ code: 'bad-header', offset: 1024 });
    expect(th.entries.every((e) => e.dataOffset + e.size <= huge.length)).toBe(true);

    const neg = bytesOf('legacy-honest.tar').slice();
    neg.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], 1024 + 124); // -2
    fixChecksum(neg, 1024);
    const tn = await readTar(new MemorySource(neg));
    expect(tn.anomalies[0]).toMatchObject({ code: 'bad-header', offset: 1024 });
  });

  it('a GNU long name that declares more than the extended-header limit is skipped, not read', async () => {
    const b = bytesOf('gnu-longname.tar').slice();
    b.set(new TextEncoder().encode('77777777777\0'), 124); // the ././@LongLink header at 0
    fixChecksum(b, 0);
    const t = await readTar(new MemorySource(b));
    expect(t.anomalies[0]).toMatchObject({ code: 'extended-header-too-large', offset: 0 });
  });

  it('a malformed pax record', async () => {
    const b = bytesOf('pax-traversal.tar').slice();
    // the pax data block starts at 512: break its length prefix
    b[512] = 0x78;
    const t = await readTar(new MemorySource(b));
    expect(t.anomalies.map((a) => a.code)).toContain('bad-pax-header');
    expect(t.entries[0].name).toBe('innocent.txt');
  });

  it('walks headers by range: a 1 GiB archive is never read whole', async () => {
    // one member of 1 GiB of (virtual) data: only its header and the end marker are read
    const header = bytesOf('traversal-parent.tar').slice(0, 512);
    header.set(new TextEncoder().encode(`${(2 ** 30).toString(8).padStart(11, '0')}\0`), 124);
    fixChecksum(header, 0);
    const size = 512 + 2 ** 30 + 1024;
    let read = 0;
    let largest = 0;
    const src: ByteSource = {
      name: 'virtual.tar',
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        read += n;
        largest = Math.max(largest, n);
        const out = new Uint8Array(n);
        if (offset < 512) out.set(header.subarray(offset, Math.min(512, offset + n)), 0);
        return out;
      },
    };
    const t = await readTar(src);
    expect(t.entries).toHaveLength(1);
    expect(t.entries[0]).toMatchObject({ name: '../evil', size: 2 ** 30, dataOffset: 512 });
    expect(t.endOffset).toBe(512 + 2 ** 30);
    expect(largest).toBeLessThanOrEqual(TAR_READ_WINDOW);
    expect(read).toBeLessThan(4 * TAR_READ_WINDOW);
  });
});

describe('tar fields and sniffing', () => {
  it('numbers: octal with NUL or space, empty as 0, GNU base-256 both signs, garbage as null', () => {
    const f = (s: string | number[]) => fieldNumber(typeof s === 'string' ? new TextEncoder().encode(s) : new Uint8Array(s), 0, typeof s === 'string' ? s.length : s.length);
    expect(f('0000644\0')).toBe(0o644);
    expect(f(' 17 \0\0\0\0')).toBe(0o17);
    expect(f('\0\0\0\0\0\0\0\0')).toBe(0);
    expect(f([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00])).toBe(256);
    expect(f([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toBe(-1);
    expect(f('12a4\0')).toBeNull();
    expect(f('8\0')).toBeNull();
    expect(f([0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toBeNull(); // > 2^53
  });

  it('checksums: tarfile accepts the unsigned and the signed sum', () => {
    const h = bytesOf('legacy-honest.tar').slice(0, 512);
    expect(checksumOk(h)).toBe(true);
    h[0] ^= 1;
    expect(checksumOk(h)).toBe(false);
  });

  it('pax records: framing is checked', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(parsePaxRecords(enc('12 path=a/b\n17 linkpath=../c\n'))).toEqual({ path: 'a/b', linkpath: '../c' });
    expect(parsePaxRecords(enc('13 path=a/b\n'))).toBeNull(); // length disagrees
    expect(parsePaxRecords(enc('x path=a\n'))).toBeNull();
    expect(parsePaxRecords(enc('9 =nokey\n'))).toBeNull();
  });

  it('sniff: ustar and GNU magic, v7 by checksum; gzip, zeros and text are not tar', () => {
    for (const f of ['legacy-honest.tar', 'gnu-longname.tar', 'pax-honest.tar', 'v7-evil.tar']) expect(sniffTar(bytesOf(f)), f).toBe(true);
    for (const f of ['legacy-honest.tar.gz', 'honest.pkl.gz', 'honest.zip']) expect(sniffTar(bytesOf(f)), f).toBe(false);
    expect(sniffTar(new Uint8Array(512))).toBe(false);
    const v7 = bytesOf('v7-evil.tar').slice(0, 512);
    v7[0] = 0x01; // unprintable name: not a header even though the checksum is recomputed
    fixChecksum(v7, 0);
    expect(sniffTar(v7)).toBe(false);
    const text = new TextEncoder().encode('hello world\n'.repeat(100));
    expect(sniffTar(text)).toBe(false);
  });
});
