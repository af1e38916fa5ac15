import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeFileSource } from '../../../../cli/node-source';
import { inspect } from '../../inspect';
import { listPickleAround } from './listing';

const HOSTILE = join(__dirname, '../../../../tests/fixtures/hostile');
const manifest = JSON.parse(readFileSync(join(HOSTILE, 'manifest-pickle.json'), 'utf8')) as { path: string; verdict: string }[];

describe('pickle listing around a finding', () => {
  it('shows the dangerous import at the finding offset, for raw pickles and zip checkpoints', async () => {
    let listed = 0;
    for (const e of manifest.filter((m) => m.verdict === 'dangerous').slice(0, 12)) {
      const src = await NodeFileSource.open(join(HOSTILE, e.path), e.path);
      const { report } = await inspect([src], { skipStream: true });
      const f = report.findings.find((x) => x.category === 'code-execution' && x.offset !== undefined && x.file === e.path);
      if (!f) continue;
      const l = await listPickleAround(src, f.offset!);
      await src.close();
      if (!l) continue;
      listed++;
      // the line of the offending opcode is in the listing, with its absolute offset
      expect(l.text, e.path).toContain(String(f.offset));
    }
    expect(listed).toBeGreaterThanOrEqual(6);
  });
});
