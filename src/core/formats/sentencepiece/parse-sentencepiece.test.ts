import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';
import { sniffSentencePiece } from './parse-sentencepiece';

const FIX = join(__dirname, '../../../../tests/fixtures');
const model = new Uint8Array(readFileSync(join(FIX, 'hostile/hf/llama-style-folder/tokenizer.model')));
const ctx = (b: Uint8Array) => ({ name: 'x', size: b.length, head: b.subarray(0, 65536), tail: b.subarray(Math.max(0, b.length - 65536)) });

describe('SentencePiece tokenizer models', () => {
  it('are recognised and walked to the end: 803 pieces, no findings', async () => {
    const { report, files } = await inspect([new MemorySource(model, 'tokenizer.model')]);
    expect(report.files[0].format).toBe('sentencepiece');
    expect(report.findings).toEqual([]);
    expect(files[0].parse!.extra).toEqual({ sentencepiece: { pieces: 803 } });
  });

  it('a truncated model is a typed error at the cut, not an unknown file', async () => {
    const { report } = await inspect([new MemorySource(model.subarray(0, model.length - 7), 'tokenizer.model')]);
    expect(report.findings[0]).toMatchObject({ id: 'sentencepiece/bad-length', severity: 'error', category: 'malformed' });
    expect(report.findings[0].offset).toBeGreaterThan(model.length - 64);
  });

  it('no other fixture sniffs as SentencePiece', () => {
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    const others = walk(FIX).filter((p) => !p.endsWith('tokenizer.model') && statSync(p).size < 8 << 20);
    const hits = others.filter((p) => sniffSentencePiece(ctx(new Uint8Array(readFileSync(p)))));
    expect(hits).toEqual([]);
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      const r = Uint8Array.from({ length: 512 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 16) & 0xff);
      expect(sniffSentencePiece(ctx(r))).toBe(false);
    }
  });
});
