import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { lenientUtf8, readZip } from '../../formats/zip/read-zip';
import { archiveFindings } from './archive-findings';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'gen-formats', 'archive');

async function findingsOf(name: string) {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  const zip = await readZip(new MemorySource(bytes, name));
  return { zip, findings: archiveFindings(zip, name) };
}

describe('archiveFindings: names other extractors write', () => {
  it('checks the Info-ZIP Unicode Path name, not only the header name', async () => {
    const { zip, findings } = await findingsOf('upath-traversal.zip');
    expect(zip.entries[0].altNames).toEqual(['../../evil.txt']);
    const t = findings.filter((f) => f.id === 'archive/path-traversal');
    expect(t.map((f) => [f.category, f.severity])).toEqual([['path-traversal', 'dangerous']]);
    expect(t[0].evidence).toMatchObject({ entry: '../../evil.txt', problems: ['parent'] });
  });
  it('decodes overlong UTF-8 as lenient decoders do', async () => {
    expect(lenientUtf8(new Uint8Array([0xc0, 0xae, 0xc0, 0xae, 0x2f, 0x61]))).toBe('../a');
    const { findings } = await findingsOf('overlong-utf8.zip');
    expect(findings.filter((f) => f.id === 'archive/path-traversal').map((f) => [f.severity, (f.evidence as { entry: string }).entry])).toEqual([['dangerous', '../.evil.txt']]);
  });
  it('reports fullwidth look-alikes that best-fit mapping turns into ../', async () => {
    const { findings } = await findingsOf('fullwidth-traversal.zip');
    expect(findings.map((f) => [f.id, f.category, f.severity])).toEqual([['archive/path-traversal', 'path-traversal', 'dangerous']]);
    expect(findings[0].evidence).toMatchObject({ problems: ['lookalike'] });
  });
});
