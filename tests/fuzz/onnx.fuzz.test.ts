import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOnnxLayout } from '../../src/core/formats/onnx/onnx-layout';
import { inspect } from '../../src/core/inspect';
import { MemorySource } from '../../src/core/io/byte-source';
import { assertValidReport } from '../helpers/schema';
import { mutate, prng, randInt, type Rng } from './mutate';

const dir = join(__dirname, '..', 'fixtures', 'onnx');
const seeds = [
  ...readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) })),
  { name: 'external/model.onnx', bytes: new Uint8Array(readFileSync(join(dir, 'external', 'model.onnx'))) },
];
const weights = new Uint8Array(readFileSync(join(dir, 'external', 'weights.bin')));

function varint(n: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/**
 * Protobuf-aware mutation: replaces the varint that starts at a random byte (a length prefix or a
 * count, most of the time) by a large one, shifting the rest: what a hostile length looks like in
 * protobuf, where mutate.ts's fixed-width integers do not apply.
 */
function inflateVarint(rng: Rng, bytes: Uint8Array): Uint8Array {
  const at = randInt(rng, bytes.length);
  let end = at;
  while (end < bytes.length && end - at < 10 && bytes[end] & 0x80) end++;
  end = Math.min(end + 1, bytes.length);
  const values = [2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, BigInt(bytes.length), BigInt(bytes.length - at), 0n];
  const v = varint(values[randInt(rng, values.length)]);
  const out = new Uint8Array(bytes.length - (end - at) + v.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(v, at);
  out.set(bytes.subarray(end), at + v.length);
  return out;
}

/** Swaps two whole fields of the ModelProto or of its graph (valid protobuf, hostile field order). */
async function swapFields(rng: Rng, bytes: Uint8Array): Promise<Uint8Array> {
  const layout = await readOnnxLayout(new MemorySource(bytes, 'seed.onnx'));
  const spans = rng() < 0.5 ? layout.model : layout.graphFields;
  if (spans.length < 2) return bytes;
  let [a, b] = [spans[randInt(rng, spans.length)], spans[randInt(rng, spans.length)]];
  if (a.start > b.start) [a, b] = [b, a];
  if (a === b) return bytes;
  const parts = [bytes.subarray(0, a.start), bytes.subarray(b.start, b.end), bytes.subarray(a.end, b.start), bytes.subarray(a.start, a.end), bytes.subarray(b.end)];
  const out = new Uint8Array(bytes.length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('onnx fuzz', () => {
  it('1 600 mutated ONNX files end in a report (a model or a typed error), never an internal failure', async () => {
    const rng = prng(0x6f6e6e78);
    const tally = { model: 0, rejected: 0, unrecognised: 0 };
    const slowest = { ms: 0, label: '' };
    for (let i = 0; i < 1600; i++) {
      const seed = seeds[i % seeds.length];
      const kind = i % 4;
      const bytes = kind === 0 ? inflateVarint(rng, seed.bytes) : kind === 1 ? await swapFields(rng, seed.bytes) : mutate(rng, seed.bytes);
      const label = `case ${i} (${seed.name}, ${['inflate-varint', 'swap-fields', 'mutate', 'mutate'][kind]})`;
      const sources = seed.name.startsWith('external/') ? [new MemorySource(bytes, 'model.onnx'), new MemorySource(weights, 'weights.bin')] : [new MemorySource(bytes, seed.name)];
      const started = performance.now();
      const { report, model } = await inspect(sources, { skipStream: true });
      const ms = performance.now() - started;
      if (ms > slowest.ms) Object.assign(slowest, { ms, label });
      expect(ms, `${label} took too long`).toBeLessThan(2000);
      const internal = report.findings.filter((f) => f.id.endsWith('/internal-error') || f.id === 'analysis/failed');
      expect(internal.map((f) => f.detail), label).toEqual([]);
      if (i % 16 === 0) assertValidReport(report);
      JSON.stringify(model);
      if (model?.format === 'onnx') tally.model++;
      else if (report.findings.some((f) => f.id.startsWith('onnx/'))) tally.rejected++;
      else tally.unrecognised++;
    }
    // the mix must exercise both outcomes, and most mutants must still be recognised as ONNX
    expect(tally.model).toBeGreaterThan(400);
    expect(tally.rejected).toBeGreaterThan(200);
    expect(slowest.ms, slowest.label).toBeLessThan(2000);
  }, 60_000);
});
