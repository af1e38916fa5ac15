import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readChunks } from '../src/core/io/byte-source';
import type { TensorInfo } from '../src/core/model/types';
import { streamFile } from '../src/core/stream-file';
import { nodeSha256 } from './node-hash';
import { NodeFileSource } from './node-source';
import { threadedStats } from './stats-threads';

function tempFile(bytes: Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ts-src-')), 'data.bin');
  writeFileSync(path, bytes);
  return path;
}

describe('NodeFileSource and recycled chunks', () => {
  const data = randomBytes(5 * 4096 + 123);
  const path = tempFile(data);

  it('reads into a caller buffer, clamped to the end of the file', async () => {
    const src = await NodeFileSource.open(path);
    const buf = new Uint8Array(1000);
    const got = await src.readInto(data.length - 10, buf);
    expect(got.buffer).toBe(buf.buffer);
    expect([...got]).toEqual([...data.subarray(data.length - 10)]);
    expect((await src.readInto(data.length + 5, buf)).length).toBe(0);
    await src.close();
  });

  it('takes two buffers in turn and still yields every byte in order', async () => {
    const src = await NodeFileSource.open(path);
    const buffers = new Set<ArrayBufferLike>();
    const seen: number[] = [];
    const hash = createHash('sha256');
    for await (const { offset, bytes } of readChunks(src, 4096, undefined, 0, src.size, true)) {
      buffers.add(bytes.buffer);
      seen.push(offset);
      hash.update(bytes);
    }
    expect(seen).toEqual([0, 4096, 8192, 12288, 16384, 20480]);
    expect(buffers.size).toBe(2);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await src.close();
  });

  it('allocates anew when a consumer transferred the chunk, and never hands out a detached buffer', async () => {
    const src = await NodeFileSource.open(path);
    const kept: Uint8Array[] = [];
    for await (const { bytes } of readChunks(src, 4096, undefined, 0, src.size, true)) {
      expect(bytes.byteLength).toBeGreaterThan(0);
      // a transfer detaches the buffer, as the statistics thread's hand-over does
      kept.push(structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] }));
    }
    expect(Buffer.concat(kept).equals(data)).toBe(true);
    await src.close();
  });

  it('gives the same digest and statistics as a plain pass when statistics run on a thread', async () => {
    const floats = new Float32Array(3 * 4096 + 7).map((_, i) => Math.sin(i) * 0.02);
    const file = tempFile(new Uint8Array(floats.buffer));
    const src = await NodeFileSource.open(file);
    const tensor: TensorInfo = { name: 'w', dtype: 'float32', shape: [floats.length], numel: floats.length, file: 'data.bin', offset: 0, length: floats.byteLength };
    const threaded = await streamFile(src, { tensors: [tensor], hashFactory: nodeSha256, statsSink: threadedStats, chunkSize: 4096 });
    const plain = await streamFile(src, { tensors: [tensor], chunkSize: 4096 });
    expect(threaded.sha256).toBe(plain.sha256);
    expect(threaded.stats?.[0]).toEqual(plain.stats?.[0]);
    expect(threaded.stats?.[0]).toMatchObject({ count: floats.length, complete: true });
    expect(threaded.stats?.[0]?.max).toBeCloseTo(0.02, 4);
    await src.close();
  });
});
