import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { ZIP_MAX_DEPTH } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { detectFormats } from '../registry';
import type { ParseContext } from '../types';
import { scanTarContent } from './scan-tar';
import { tarHandler } from './tar-handler';
import { writtenThroughLink } from './tar-findings';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'archive');
function ctxOf(name: string): ParseContext {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
}
const parse = (name: string) => tarHandler.parse(ctxOf(name));
const pick = (fs: Finding[]) => fs.map((f) => ({ id: f.id, category: f.category, severity: f.severity, offset: f.offset }));
/** byte of REDUCE in the fixtures' os.system pickle */
const REDUCE_AT = 27;

describe('tar handler: the legacy PyTorch layout', () => {
  it('honest legacy tar: recognised, every pickle scanned, nothing but the layout note', async () => {
    const p = await parse('legacy-honest.tar');
    expect(p.format).toBe('tar');
    expect(p.formatVersion).toBe('ustar');
    expect(p.extra).toMatchObject({ legacyPytorch: true, layout: 'pytorch-legacy-tar', entries: 4, scanned: 4, hiddenEntries: 0 });
    expect(pick(p.findings)).toEqual([{ id: 'tar/legacy-pytorch', category: 'code-execution', severity: 'info', offset: 0 }]);
  });

  it('malicious `pickle` member: dangerous, at the REDUCE byte in the file', async () => {
    const p = await parse('legacy-evil.tar');
    const call = p.findings.find((f) => f.id === 'pickle/dangerous-call')!;
    expect(call).toMatchObject({ category: 'code-execution', severity: 'dangerous', file: 'legacy-evil.tar', offset: 1536 + REDUCE_AT });
    expect(call.evidence).toMatchObject({ member: 'pickle' });
  });

  it('a payload after the raw storage bytes of `storages` is found (records are walked as torch reads them)', async () => {
    const p = await parse('legacy-evil-storages.tar');
    const call = p.findings.find((f) => f.id === 'pickle/dangerous-call')!;
    // storages data at 2560: count pickle (5 bytes), args pickle (46), int64 count + 4 floats (24), then the payload
    expect(call).toMatchObject({ severity: 'dangerous', offset: 2560 + 5 + 46 + 24 + REDUCE_AT });
    expect(p.findings.filter((f) => f.severity !== 'info' && f.id !== 'pickle/dangerous-call')).toEqual([]);
  });

  it('two `pickle` members: both scanned, the duplicate reported', async () => {
    const p = await parse('legacy-duplicate-pickle.tar');
    expect(pick(p.findings.filter((f) => f.id !== 'tar/legacy-pytorch'))).toEqual([
      { id: 'tar/duplicate-name', category: 'malformed', severity: 'warning', offset: 4096 },
      { id: 'pickle/dangerous-call', category: 'code-execution', severity: 'dangerous', offset: 4608 + REDUCE_AT },
    ]);
  });

  it('truncated legacy tar: the cut is an error, the pickles before it are scanned', async () => {
    const p = await parse('truncated.tar');
    expect(p.findings.find((f) => f.id === 'tar/data-out-of-bounds')).toMatchObject({ category: 'malformed', severity: 'error', offset: 2048 });
    expect(p.findings.some((f) => f.severity === 'dangerous')).toBe(false);
  });
});

describe('tar handler: names, links and special members', () => {
  it.each([
    ['traversal-parent.tar', '../evil', ['parent'], 'header'],
    ['traversal-absolute.tar', '/etc/cron.d/job', ['absolute'], 'header'],
    ['pax-traversal.tar', '../../home/user/.bashrc', ['parent'], 'pax path record'],
  ])('%s: archive/path-traversal, dangerous', async (file, entry, problems, via) => {
    const p = await parse(file);
    expect(pick(p.findings)).toEqual([{ id: 'archive/path-traversal', category: 'path-traversal', severity: 'dangerous', offset: 0 }]);
    expect(p.findings[0].evidence).toMatchObject({ entry, problems, via });
  });

  it('symbolic link: archive/symlink warning with its target', async () => {
    const p = await parse('symlink.tar');
    expect(pick(p.findings)).toEqual([{ id: 'archive/symlink', category: 'path-traversal', severity: 'warning', offset: 0 }]);
    expect(p.findings[0].evidence).toMatchObject({ entry: 'model/link', target: '/etc/passwd', targetProblems: ['absolute'] });
  });

  it('hard link, FIFO and device: warnings', async () => {
    const p = await parse('special-members.tar');
    expect(pick(p.findings)).toEqual([
      { id: 'tar/hardlink', category: 'path-traversal', severity: 'warning', offset: 1024 },
      { id: 'tar/special-file', category: 'malformed', severity: 'warning', offset: 1536 },
      { id: 'tar/special-file', category: 'malformed', severity: 'warning', offset: 2048 },
    ]);
  });

  it('a hard link whose target leaves the archive is path traversal', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'special-members.tar')));
    const b = bytes.slice();
    const target = new TextEncoder().encode('../../etc/shadow\0');
    b.fill(0, 1024 + 157, 1024 + 257);
    b.set(target, 1024 + 157);
    // recompute the checksum of the patched header
    let sum = 256;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[1024 + i];
    b.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 1024 + 148);
    const r = await scanTarContent(new MemorySource(b), { file: 'x.tar', member: '', depth: 0, budget: { bytes: 1 << 30 }, baseOffset: 0 });
    expect(r.findings.find((f) => f.evidence?.entry === 'model/hard')).toMatchObject({ id: 'archive/path-traversal', severity: 'dangerous', offset: 1024 });
  });
});

describe('tar handler: every dialect, every member by content', () => {
  it('GNU long names and pax: honest archives are clean', async () => {
    expect((await parse('gnu-longname.tar')).findings).toEqual([]);
    const pax = await parse('pax-honest.tar');
    expect(pax.findings).toEqual([]);
    expect(pax.formatVersion).toBe('pax');
  });

  it('a pickle under a GNU long name is scanned and named by it', async () => {
    const p = await parse('gnu-longname-evil.tar');
    expect(p.formatVersion).toBe('gnu');
    expect(p.findings.map((f) => [f.id, f.severity, f.offset, f.evidence?.member])).toEqual([
      ['pickle/dangerous-call', 'dangerous', 1536 + REDUCE_AT, `checkpoints/${'a-rather-long-directory-name/'.repeat(5)}weights.bin`],
    ]);
  });

  it('a v7 header (no magic) is sniffed and its member scanned', async () => {
    const ctx = ctxOf('v7-evil.tar');
    expect(detectFormats(ctx).map((h) => h.id)).toEqual(['tar']);
    const p = await tarHandler.parse(ctx);
    expect(p.formatVersion).toBe('v7');
    expect(pick(p.findings)).toEqual([{ id: 'pickle/dangerous-call', category: 'code-execution', severity: 'dangerous', offset: 512 + REDUCE_AT }]);
  });

  it('members hidden after the end marker are scanned and reported', async () => {
    const p = await parse('hidden-after-end.tar');
    expect(pick(p.findings)).toEqual([
      { id: 'tar/data-after-end', category: 'malformed', severity: 'warning', offset: 10240 },
      { id: 'pickle/dangerous-call', category: 'code-execution', severity: 'dangerous', offset: 10752 + REDUCE_AT },
    ]);
    expect(p.findings[0].evidence).toMatchObject({ hiddenEntries: ['model.pkl'] });
  });

  it('a damaged header is a warning', async () => {
    expect(pick((await parse('bad-checksum.tar')).findings)).toEqual([{ id: 'tar/bad-checksum', category: 'malformed', severity: 'warning', offset: 1024 }]);
  });

  it('a .tar.gz member is inflated and its legacy tar scanned; a zip member is opened', async () => {
    const p = await parse('nested-tgz.tar');
    const call = p.findings.find((f) => f.id === 'pickle/dangerous-call')!;
    expect(call).toMatchObject({ severity: 'dangerous', offset: 512 });
    expect(call.evidence).toMatchObject({ member: 'checkpoints/old.tar/pickle' });
    expect(p.findings.find((f) => f.id === 'tar/legacy-pytorch')?.title).toContain('inside "checkpoints/old.tar"');
  });

  it(`archives nested deeper than ${ZIP_MAX_DEPTH} levels are not opened, and say so`, async () => {
    const p = await parse('deep-nesting.tar');
    // the file is depth 0; level0..level3 are opened (depths 1-4), level4.bin (whose header is at 2048) is not
    expect(pick(p.findings)).toEqual([{ id: 'tar/nesting-too-deep', category: 'malformed', severity: 'warning', offset: 2048 }]);
    expect(p.findings[0].evidence).toMatchObject({ member: 'level0.bin/level1.bin/level2.bin/level3.bin/level4.bin' });
  });

  it('the byte budget leaves members out with a warning, never as clean', async () => {
    const ctx = ctxOf('legacy-evil.tar');
    const r = await scanTarContent(ctx.source, { file: ctx.name, member: '', depth: 0, budget: { bytes: 100 }, baseOffset: 0 });
    expect(r.scanned).toEqual(['sys_info']);
    const b = r.findings.find((f) => f.id === 'tar/scan-budget')!;
    expect(b).toMatchObject({ category: 'malformed', severity: 'warning' });
    expect(b.evidence).toMatchObject({ entries: ['pickle', 'storages', 'tensors'], count: 3 });
  });
});

describe('writtenThroughLink (a member extracted through an earlier symbolic link)', () => {
  const links = new Map([
    ['cfg', '/etc'],
    ['d/up', '../../outside'],
    ['d/in', '../shared'],
    ['hop', 'd/up'],
    ['loop', 'loop'],
    ['win', 'C:\\Windows'],
  ]);
  it('finds links that lead outside the folder, through chains and relative climbs', () => {
    expect(writtenThroughLink('cfg/cron.d/job', links)).toEqual({ link: 'cfg', target: '/etc' });
    expect(writtenThroughLink('d/up/x', links)).toEqual({ link: 'd/up', target: '../../outside' });
    expect(writtenThroughLink('./hop/x', links)).toEqual({ link: 'hop', target: 'd/up' });
    expect(writtenThroughLink('win/system32/x.dll', links)).toEqual({ link: 'win', target: 'C:\\Windows' });
    expect(writtenThroughLink('loop/x', links)).toEqual({ link: 'loop', target: 'loop' });
  });
  it('leaves links that stay inside, the link itself, and names no link is on', () => {
    expect(writtenThroughLink('d/in/x', links)).toBeNull();
    expect(writtenThroughLink('cfg', links)).toBeNull(); // replacing the link is not writing through it
    expect(writtenThroughLink('weights/model.bin', links)).toBeNull();
    expect(writtenThroughLink('../plain', links)).toBeNull(); // a climbing name is the name check's finding
  });
});
