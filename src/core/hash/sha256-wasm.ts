/*
 * Streaming SHA-256 (FIPS 180-4) whose compression function is WebAssembly emitted by the generator
 * below: all 64 rounds unrolled with the eight working variables renamed instead of moved, the message
 * schedule kept in 16 rolling locals, Maj computed from the previous round's a^b, and the big-endian
 * word loads byte-swapped with two rotates. No SIMD, so it runs wherever WebAssembly does.
 *
 * Why not only hash-wasm: the page's streaming hash is the slowest stage of an inspection (WebAssembly
 * cannot use SHA-NI), and this compression function measured ~1.15x hash-wasm's in Chromium on this
 * machine (median of 16 alternating rounds; `npm run bench -- hash` prints the same comparison in Node).
 * It is checked against node:crypto on random data cut at random chunk boundaries (sha256-wasm.test.ts).
 *
 * The module is generated when first used (a few kilobytes, well under a millisecond): nothing is
 * fetched, and the page's CSP needs only 'wasm-unsafe-eval', which it has for onnxruntime-web.
 */

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Where the chaining value lives in the module's memory, where input is copied, and how much at a time. */
const STATE = 0;
const DATA = 1024;
const DATA_CAP = 1 << 20;
const PAGES = Math.ceil((DATA + DATA_CAP + 128) / 65536);

// WebAssembly opcodes used
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, get: 0x20, set: 0x21, tee: 0x22, load: 0x28, store: 0x36,
  const: 0x41, eqz: 0x45, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shrU: 0x76, rotl: 0x77, rotr: 0x78,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** The body of `blocks(p, n)`: compresses n 64-byte blocks at p into the state at STATE. */
function blocksBody(simd: boolean): number[] {
  const P = 0;
  const N = 1;
  const REG = [2, 3, 4, 5, 6, 7, 8, 9]; // a..h
  const W = (i: number) => 10 + (i & 15);
  const T1 = 26;
  const T2 = 27;
  const X = 28;
  const PX = 29;
  const V = 30; // v128 (SIMD variant only)
  const code: number[] = [];
  const e = (...b: number[]) => code.push(...b);
  const get = (l: number) => e(OP.get, ...uleb(l));
  const set = (l: number) => e(OP.set, ...uleb(l));
  const c = (v: number) => e(OP.const, ...sleb(v));
  const rot = (l: number, k: number) => (get(l), c(k), e(OP.rotr));
  // Σ-style: rotr(x, r1) ^ rotr(x, r2) ^ (rotr or shr)(x, r3)
  const sigma = (l: number, r1: number, r2: number, r3: number, shift: boolean) => {
    rot(l, r1);
    rot(l, r2);
    e(OP.xor);
    get(l);
    c(r3);
    e(shift ? OP.shrU : OP.rotr, OP.xor);
  };

  e(OP.block, 0x40, OP.loop, 0x40);
  get(N);
  e(OP.eqz, OP.brIf, 1);
  for (let i = 0; i < 8; i++) {
    c(0);
    e(OP.load, 2, ...uleb(STATE + 4 * i));
    set(REG[i]);
  }
  if (simd) {
    // four big-endian words per load: reverse the bytes of each 32-bit lane, then take the lanes out
    const swap = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
    for (let q = 0; q < 4; q++) {
      get(P);
      e(0xfd, 0x00, 4, ...uleb(16 * q), OP.tee, ...uleb(V)); // v128.load align=16
      get(V);
      e(0xfd, 0x0d, ...swap); // i8x16.shuffle
      set(V);
      for (let l = 0; l < 4; l++) {
        get(V);
        e(0xfd, 0x1b, l); // i32x4.extract_lane
        set(W(4 * q + l));
      }
    }
  }
  // big-endian words: bswap(x) = (rotr(x, 8) & 0xff00ff00) | (rotl(x, 8) & 0x00ff00ff)
  for (let i = 0; !simd && i < 16; i++) {
    get(P);
    e(OP.load, 2, ...uleb(4 * i), OP.tee, ...uleb(T1));
    c(8);
    e(OP.rotr);
    c(0xff00ff00);
    e(OP.and);
    get(T1);
    c(8);
    e(OP.rotl);
    c(0x00ff00ff);
    e(OP.and, OP.or);
    set(W(i));
  }
  get(REG[1]);
  get(REG[2]);
  e(OP.xor);
  set(PX);
  let [a, b, cc, d, ee, f, g, h] = REG;
  for (let t = 0; t < 64; t++) {
    if (t >= 16) {
      sigma(W(t - 2), 17, 19, 10, true);
      get(W(t - 7));
      e(OP.add);
      sigma(W(t - 15), 7, 18, 3, true);
      e(OP.add);
      get(W(t - 16));
      e(OP.add);
      set(W(t));
    }
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], with Ch = g ^ (e & (f ^ g))
    get(h);
    sigma(ee, 6, 11, 25, false);
    e(OP.add);
    get(g);
    get(ee);
    get(f);
    get(g);
    e(OP.xor, OP.and, OP.xor, OP.add);
    c(K[t]);
    e(OP.add);
    get(W(t));
    e(OP.add);
    set(T1);
    // T2 = Σ0(a) + Maj(a, b, c), with Maj = b ^ ((a ^ b) & (b ^ c)) and b ^ c the last round's a ^ b
    get(a);
    get(b);
    e(OP.xor);
    set(X);
    sigma(a, 2, 13, 22, false);
    get(b);
    get(X);
    get(PX);
    e(OP.and, OP.xor, OP.add);
    set(T2);
    get(X);
    set(PX);
    get(d);
    get(T1);
    e(OP.add);
    set(d);
    get(T1);
    get(T2);
    e(OP.add);
    set(h);
    // rename instead of moving: new a is the old h's local, new e the old d's
    [a, b, cc, d, ee, f, g, h] = [h, a, b, cc, d, ee, f, g];
  }
  // after 64 renamings the names are back in order: add the working variables into the state
  for (let i = 0; i < 8; i++) {
    c(0);
    c(0);
    e(OP.load, 2, ...uleb(STATE + 4 * i));
    get(REG[i]);
    e(OP.add, OP.store, 2, ...uleb(STATE + 4 * i));
  }
  get(P);
  c(64);
  e(OP.add);
  set(P);
  get(N);
  c(1);
  e(OP.sub);
  set(N);
  e(OP.br, 0, OP.end, OP.end, OP.end);
  // 28 i32 locals after the two parameters (and the v128 one)
  const locals = simd ? [2, ...uleb(28), 0x7f, 1, 0x7b] : [1, ...uleb(28), 0x7f];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The whole module: memory (exported) and `blocks(p: i32, n: i32)`. */
export function sha256Module(simd: boolean): Uint8Array {
  const i32 = 0x7f;
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 2, i32, i32, 0]), // type: (i32, i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, ...uleb(PAGES)]), // memory: min PAGES, no max
    ...section(7, [2, ...name('memory'), 2, 0, ...name('blocks'), 0, 0]),
    ...section(10, [1, ...blocksBody(simd)]),
  ];
  return new Uint8Array(bytes);
}

let compiled: Promise<WebAssembly.Module> | null = null;

interface Exports {
  memory: WebAssembly.Memory;
  blocks(p: number, n: number): void;
}

/** An incremental SHA-256 on one instance of the module (an IncrementalHash with synchronous results). */
export interface WasmSha256 {
  update(bytes: Uint8Array): void;
  /** the digest of everything since the last init(), lower-case hex; call init() before reusing */
  digestHex(): string;
  init(): void;
}

/** A new incremental SHA-256 (each has its own instance and memory, ~1.1 MiB). */
export async function createSha256(): Promise<WasmSha256> {
  compiled ??= WebAssembly.compile(sha256Module(true) as Uint8Array<ArrayBuffer>).catch(() => WebAssembly.compile(sha256Module(false) as Uint8Array<ArrayBuffer>));
  const instance = await WebAssembly.instantiate(await compiled);
  const { memory, blocks } = instance.exports as unknown as Exports;
  const mem = new Uint8Array(memory.buffer);
  const state = new Int32Array(memory.buffer, STATE, 8);
  let fill = 0;
  let total = 0;
  const init = () => {
    for (let i = 0; i < 8; i++) state[i] = H0[i] | 0;
    fill = 0;
    total = 0;
  };
  init();
  return {
    init,
    update(bytes: Uint8Array): void {
      total += bytes.length;
      let off = 0;
      while (off < bytes.length) {
        const take = Math.min(DATA_CAP - fill, bytes.length - off);
        mem.set(bytes.subarray(off, off + take), DATA + fill);
        fill += take;
        off += take;
        const n = fill >>> 6;
        if (n > 0 && (fill === DATA_CAP || off === bytes.length)) {
          blocks(DATA, n);
          mem.copyWithin(DATA, DATA + n * 64, DATA + fill);
          fill -= n * 64;
        }
      }
    },
    digestHex(): string {
      // padding: 0x80, zeros to 56 mod 64, the length in bits as a 64-bit big-endian integer
      mem[DATA + fill++] = 0x80;
      while (fill % 64 !== 56) mem[DATA + fill++] = 0;
      const view = new DataView(memory.buffer);
      view.setUint32(DATA + fill, Math.floor(total / 2 ** 29));
      view.setUint32(DATA + fill + 4, (total * 8) >>> 0);
      fill += 8;
      blocks(DATA, fill >>> 6);
      fill = 0;
      let hex = '';
      for (let i = 0; i < 8; i++) hex += (state[i] >>> 0).toString(16).padStart(8, '0');
      return hex;
    },
  };
}
