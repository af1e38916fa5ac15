import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSha256, sha256Module } from './sha256-wasm';

const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function digest(parts: Uint8Array[]): Promise<string> {
  const h = await createSha256();
  for (const p of parts) h.update(p);
  return h.digestHex();
}

describe('the generated WebAssembly SHA-256', () => {
  it('is a valid module, with and without SIMD, that exports its memory and the compression function', () => {
    for (const simd of [true, false]) {
      const m = new WebAssembly.Module(sha256Module(simd) as Uint8Array<ArrayBuffer>);
      expect(WebAssembly.Module.exports(m).map((e) => `${e.name}:${e.kind}`).sort()).toEqual(['blocks:function', 'memory:memory']);
    }
  });

  it('the scalar variant (no SIMD) compresses exactly as the SIMD one', () => {
    const data = new Uint8Array(randomBytes(64 * 37));
    const states = [true, false].map((simd) => {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(sha256Module(simd) as Uint8Array<ArrayBuffer>));
      const { memory, blocks } = inst.exports as unknown as { memory: WebAssembly.Memory; blocks(p: number, n: number): void };
      new Uint8Array(memory.buffer).set(data, 1024);
      blocks(1024, 37);
      return [...new Int32Array(memory.buffer, 0, 8)];
    });
    expect(states[1]).toEqual(states[0]);
    expect(states[0].some((x) => x !== 0)).toBe(true);
  });

  it('gives the FIPS 180-4 test vectors', async () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(await digest([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await digest([enc('abc')])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await digest([enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')])).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(await digest([new Uint8Array(1_000_000).fill(0x61)])).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('pads every length around a block boundary correctly', async () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 260; n++) expect(await digest([data.subarray(0, n)])).toBe(ref(data.subarray(0, n)));
  });

  it('equals node:crypto across its 1 MiB input buffer for random cuts (property)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 333);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 2_500_000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: data.length }), async (cuts, len) => {
        const parts: Uint8Array[] = [];
        for (let at = 0, i = 0; at < len; i++) {
          const n = Math.min(cuts[i % cuts.length], len - at);
          parts.push(data.subarray(at, at + n));
          at += n;
        }
        expect(await digest(parts)).toBe(ref(data.subarray(0, len)));
      }),
      { numRuns: 25, seed: 20261128 },
    );
  });

  it('encodes a length beyond 2^32 bits (a file over 512 MiB)', async () => {
    const mib = new Uint8Array(1 << 20).fill(7);
    const h = await createSha256();
    const node = createHash('sha256');
    for (let i = 0; i < 513; i++) {
      h.update(mib);
      node.update(mib);
    }
    h.update(mib.subarray(0, 5));
    node.update(mib.subarray(0, 5));
    expect(h.digestHex()).toBe(node.digest('hex'));
  });

  it('starts over after init()', async () => {
    const h = await createSha256();
    h.update(new Uint8Array([1, 2, 3]));
    h.init();
    h.update(new TextEncoder().encode('abc'));
    expect(h.digestHex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
