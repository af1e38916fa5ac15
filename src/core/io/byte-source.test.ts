import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobSource, readChunks } from './byte-source';

describe('BlobSource.readInto (a byte stream filling the caller\'s buffer)', () => {
  const data = new Uint8Array(randomBytes(3 * 65536 + 77));
  const blob = new Blob([data]);

  it('fills the caller\'s memory sequentially and reopens the stream for a read elsewhere', async () => {
    const src = new BlobSource(blob, 'b.bin');
    const a = await src.readInto(0, new Uint8Array(1000));
    expect([...a]).toEqual([...data.subarray(0, 1000)]);
    const b = await src.readInto(1000, new Uint8Array(70000));
    expect(b.length).toBe(70000);
    expect(Buffer.from(b).equals(Buffer.from(data.subarray(1000, 71000)))).toBe(true);
    // backwards: a new stream from there
    const c = await src.readInto(5, new Uint8Array(10));
    expect([...c]).toEqual([...data.subarray(5, 15)]);
    // clamped at the end of the blob, and nothing past it
    const d = await src.readInto(data.length - 7, new Uint8Array(100));
    expect([...d]).toEqual([...data.subarray(data.length - 7)]);
    expect((await src.readInto(data.length, new Uint8Array(8))).length).toBe(0);
  });

  it('streams a blob through two recycled buffers with the same digest as the bytes', async () => {
    const src = new BlobSource(blob, 'b.bin');
    const h = createHash('sha256');
    let n = 0;
    for await (const { offset, bytes } of readChunks(src, 65536, undefined, 0, src.size, true)) {
      expect(offset).toBe(n);
      n += bytes.length;
      h.update(bytes);
    }
    expect(n).toBe(data.length);
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('carries on with a new buffer when a consumer transferred the chunk', async () => {
    const src = new BlobSource(blob, 'b.bin');
    const kept: Uint8Array[] = [];
    for await (const { bytes } of readChunks(src, 65536, undefined, 0, src.size, true)) {
      kept.push(structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] }));
      expect(bytes.byteLength).toBe(0);
    }
    expect(Buffer.concat(kept).equals(Buffer.from(data))).toBe(true);
  });

  it('stops with an abort error when the signal fires', async () => {
    const src = new BlobSource(blob, 'b.bin');
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(src.readInto(0, new Uint8Array(10), ctrl.signal)).rejects.toThrow();
  });
});
