/**
 * Seeded mutations for fuzz tests: every run of a fuzz test sees the same cases, so a failure
 * reproduces from its seed and case number alone.
 */

/** mulberry32: a small, fast, seedable PRNG (public domain). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export const randInt = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Flips 1..8 random bits. */
export function bitFlip(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const n = 1 + randInt(rng, 8);
  for (let i = 0; i < n && out.length; i++) out[randInt(rng, out.length)] ^= 1 << randInt(rng, 8);
  return out;
}

/** Cuts the bytes at a random point. */
export function truncate(rng: Rng, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, randInt(rng, bytes.length + 1));
}

/**
 * Overwrites 1, 2, 4 or 8 aligned-or-not bytes with a large little-endian value: how length and count
 * fields turn hostile (0xff.., 2^31, 2^32-1, 2^53, 2^63).
 */
export function inflateLength(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length < 8) return out;
  const at = randInt(rng, out.length - 8);
  const width = [1, 2, 4, 8][randInt(rng, 4)];
  const values = [0xffn, 0x7fffffffn, 0xffffffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, BigInt(out.length), BigInt(out.length) * 2n];
  let v = values[randInt(rng, values.length)];
  for (let i = 0; i < width; i++) {
    out[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Swaps two random ranges of equal length. */
export function swapRanges(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length < 4) return out;
  const len = 1 + randInt(rng, Math.min(64, out.length >> 1));
  const a = randInt(rng, out.length - len);
  const b = randInt(rng, out.length - len);
  const tmp = out.slice(a, a + len);
  out.copyWithin(a, b, b + len);
  out.set(tmp, b);
  return out;
}

const MUTATORS = [bitFlip, truncate, inflateLength, swapRanges];

/** One random mutation (sometimes two stacked). */
export function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  let out = MUTATORS[randInt(rng, MUTATORS.length)](rng, bytes);
  if (rng() < 0.25) out = MUTATORS[randInt(rng, MUTATORS.length)](rng, out);
  return out;
}
