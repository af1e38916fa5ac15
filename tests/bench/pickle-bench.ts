import { emulatePickle } from '../../src/core/scan/pickle/emulate';
import { scanPickleBytes } from '../../src/core/scan/pickle/scan-pickle';
import type { BenchRow } from './rows';

/**
 * Pickle emulator budgets (task brief, THREATS.md §1):
 * - throughput on a ~100 MB state_dict-like pickle (BINBYTES/BINUNICODE payloads between many small
 *   opcodes: keys, memo puts, shape tuples, SETITEMS batches) against a 100 MB/s floor;
 * - a ~250-byte expansion bomb (GET/GET/TUPLE2/PUT, 2^40 leaves) scanned end to end within 100 ms.
 */

class Writer {
  buf = new Uint8Array(1 << 20);
  n = 0;
  private grow(k: number) {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  bytes(...xs: number[]) {
    this.grow(xs.length);
    for (const x of xs) this.buf[this.n++] = x;
  }
  u32(v: number) {
    this.bytes(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  raw(b: Uint8Array) {
    this.grow(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
}

/** A state_dict-like protocol-2 pickle of about `target` bytes (deterministic). */
export function statedictLikePickle(target: number): Uint8Array {
  const w = new Writer();
  const te = new TextEncoder();
  const payload = new Uint8Array(48 * 1024).map((_, i) => (i * 2654435761) >>> 24);
  const text = te.encode('x'.repeat(2048));
  w.bytes(0x80, 2, 0x7d, 0x71, 0, 0x28); // PROTO 2, EMPTY_DICT, BINPUT 0, MARK
  let i = 0;
  let memo = 1;
  while (w.n < target) {
    const key = te.encode(`encoder.layer.${i}.attention.weight`);
    w.bytes(0x58);
    w.u32(key.length);
    w.raw(key);
    w.bytes(0x71, memo++ & 0xff);
    w.bytes(0x28); // value: (shape tuple, payload, note)
    w.bytes(0x28, 0x4b, 64, 0x4b, 96, 0x4b, 3, 0x4d, 0x00, 0x01, 0x74); // MARK BININT1… BININT2 TUPLE
    const len = 1024 + ((i * 7919) % (payload.length - 1024));
    w.bytes(0x42);
    w.u32(len);
    w.raw(payload.subarray(0, len));
    if (i % 4 === 0) {
      w.bytes(0x58);
      w.u32(text.length);
      w.raw(text);
    } else w.bytes(0x4e);
    w.bytes(0x74, 0x71, memo++ & 0xff); // TUPLE BINPUT
    if (++i % 1000 === 0) w.bytes(0x75, 0x28); // SETITEMS, MARK
  }
  w.bytes(0x75, 0x2e); // SETITEMS STOP
  return w.buf.subarray(0, w.n);
}

/** GET/GET/TUPLE2/PUT 40 times over NONE: 2^40 leaves in about 250 bytes. */
export function expansionBomb(levels = 40): Uint8Array {
  const out = [0x80, 2, 0x4e, 0x71, 0];
  for (let i = 0; i < levels; i++) out.push(0x68, i, 0x68, i, 0x86, 0x71, i + 1);
  out.push(0x2e);
  return Uint8Array.from(out);
}

export async function benchPickle(): Promise<BenchRow[]> {
  const big = statedictLikePickle(100 * 1000 * 1000);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const em = emulatePickle(big);
    const dt = performance.now() - t0;
    if (em.anomalies.length || !em.pickles[0]?.stopped) throw new Error(`bench pickle did not emulate cleanly: ${em.anomalies[0]?.message}`);
    best = Math.min(best, dt);
  }
  const mbps = big.length / 1e6 / (best / 1000);

  const bomb = expansionBomb();
  let bombMs = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const res = await scanPickleBytes(bomb);
    const dt = performance.now() - t0;
    if (!res.findings.some((f) => f.id === 'pickle/expansion-bomb')) throw new Error('the expansion bomb was not reported');
    bombMs = Math.min(bombMs, dt);
  }
  return [
    { name: 'pickle emulator throughput', ratio: mbps / 100, value: mbps, baseline: 100, unit: 'MB/s', target: 1, note: `${(big.length / 1e6).toFixed(0)} MB state_dict-like pickle` },
    { name: 'pickle expansion bomb', ratio: bombMs / 100, value: bombMs, baseline: 100, unit: 'ms', target: 1, lowerIsBetter: true, note: `${bomb.length}-byte pickle describing 2^40 leaves` },
  ];
}
