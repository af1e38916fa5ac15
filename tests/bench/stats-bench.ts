/**
 * `npm run bench -- stats`: the DESIGN.md budgets for weight statistics.
 *
 * 1. Hash + statistics in one pass vs hash alone, on generated multi-GB float32 and bfloat16 safetensors
 *    files (tests/bench/.data, git-ignored, made once and reused), in the CLI's arrangement (native hash,
 *    statistics thread) and the page's (WASM hash, statistics worker), plus the single-thread pass for
 *    reference. Ratio = (hash-alone time) / (hash+stats time): 1.0 means statistics are free.
 *    The page itself, in headless Chromium: inspecting the same files against inspecting as many random
 *    bytes (no tensors: the hash alone), each the page's own "done in" figure.
 * 2. CPU statistics vs NumPy's equivalent on the same tensors (ratio = NumPy time / ours: ≥ 1 means we are
 *    at least as fast). NumPy computes the same set: min, max, mean, std, kurtosis, zeros, NaN, Inf,
 *    a 64-bin histogram, median and MAD, row and column norms.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { nodeSha256 } from '../../cli/node-hash';
import { threadedStats } from '../../cli/stats-threads';
import { NodeFileSource } from '../../cli/node-source';
import { wasmSha256 } from '../../src/core/hash/sha256';
import { streamFile } from '../../src/core/stream-file';
import { createStatsConsumer } from '../../src/core/stats/stats-consumer';
import { parseSafetensors } from '../../src/core/formats/safetensors/parse-safetensors';
import type { TensorInfo } from '../../src/core/model/types';
import { DATA, GiB, MiB, randomFile } from './data';
import { timeInspection, withBuiltPage } from './page';
import type { BenchRow } from './rows';

const ROWS = 8192;
const COLS = 8192;

/** A safetensors file of `count` [8192, 8192] tensors of pseudo-normal values (sum of 4 uniforms), made once. */
function makeFile(name: string, dtype: 'F32' | 'BF16', count: number): string {
  mkdirSync(DATA, { recursive: true });
  const path = join(DATA, name);
  const elem = dtype === 'F32' ? 4 : 2;
  const per = ROWS * COLS * elem;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) header[`layers.${i}.weight`] = { dtype, shape: [ROWS, COLS], data_offsets: [i * per, (i + 1) * per] };
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const total = 8 + text.length + per * count;
  if (existsSync(path) && statSync(path).size === total) return path;
  const fd = openSync(path, 'w');
  const head = Buffer.alloc(8 + text.length);
  head.writeBigUInt64LE(BigInt(text.length), 0);
  head.write(text, 8, 'latin1');
  writeSync(fd, head);
  const chunk = new Float32Array(16 * MiB / 4);
  let s = 0x2545f491;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let written = 0;
  while (written < per * count) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = 0.02 * (rnd() + rnd() + rnd() + rnd() - 2);
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(chunk.buffer);
    else {
      const u = new Uint32Array(chunk.buffer);
      const h = new Uint16Array(chunk.length);
      for (let i = 0; i < u.length; i++) h[i] = u[i] >>> 16;
      bytes = new Uint8Array(h.buffer);
    }
    const n = Math.min(bytes.length, per * count - written);
    writeSync(fd, bytes, 0, n);
    written += n;
  }
  closeSync(fd);
  return path;
}

async function tensorsOf(source: NodeFileSource): Promise<TensorInfo[]> {
  const head = await source.read(0, 65536);
  const p = await parseSafetensors({ name: source.name, size: source.size, head, tail: head, source, folder: { get: () => undefined, paths: () => [] } });
  return p.model!.tensors;
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Best of `n` runs (the machine is shared: the fastest run is the one least disturbed). */
async function best(n: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < n; i++) t = Math.min(t, await seconds(fn));
  return t;
}

type Arrangement = 'cli' | 'page' | 'one-thread';

/**
 * The budget's two sides on the same file in the same run, each as the product runs it:
 * - cli: Node's native SHA-256 on the main thread, statistics on a worker thread (cli/stats-threads.ts);
 * - page: the stream worker's WASM SHA-256 with the statistics worker beside it, emulated in Node with the
 *   same code (streamFile + src/workers/chunk-remote.ts over a worker thread instead of a page Worker);
 * - one-thread: native hash and statistics serialised on one thread (what the CLI did before).
 */
async function onePass(path: string, how: Arrangement): Promise<BenchRow> {
  execFileSync('sh', ['-c', `cat "${path}" > /dev/null`]); // page cache: measure compute, not the disk
  const source = await NodeFileSource.open(path);
  const tensors = await tensorsOf(source);
  const hashFactory = how === 'page' ? wasmSha256 : nodeSha256;
  const statsSink = how === 'one-thread' ? undefined : threadedStats;
  await streamFile(source, { hashFactory, tensors: tensors.slice(0, 1), statsSink }); // start the thread, warm the JIT
  const alone = await best(2, () => streamFile(source, { hashFactory, stats: false }));
  const both = await best(how === 'one-thread' ? 1 : 2, () => streamFile(source, { hashFactory, tensors, statsSink }));
  await source.close();
  const mb = source.size / 1e6;
  const what = how === 'cli' ? 'CLI: native SHA-256 + statistics thread' : how === 'page' ? 'page: WASM SHA-256 + statistics worker (emulated in Node)' : 'native SHA-256 + statistics on one thread';
  return {
    name: `stats: hash+statistics in one pass vs hash alone (${tensors[0].dtype}, ${(source.size / GiB).toFixed(1)} GiB, ${what})`,
    ratio: alone / both,
    value: mb / both,
    baseline: mb / alone,
    unit: 'MB/s',
    target: how === 'one-thread' ? undefined : 0.8,
    note: `load average ${loadavg()[0].toFixed(2)}`,
  };
}

async function versusNumpy(path: string): Promise<BenchRow> {
  const source = await NodeFileSource.open(path);
  const tensors = (await tensorsOf(source)).slice(0, 2);
  const bytes = await Promise.all(tensors.map((t) => source.read(t.offset, t.length)));
  await source.close();
  const ours = await seconds(async () => {
    for (let i = 0; i < tensors.length; i++) {
      const t = { ...tensors[i], offset: 0 };
      const c = createStatsConsumer([t]);
      c.update(0, bytes[i]);
      c.results();
    }
  });
  const py = `
import numpy as np, sys, time, json
path, specs = sys.argv[1], json.loads(sys.argv[2])
arrs = []
with open(path, 'rb') as f:
    for off, n, dt in specs:
        f.seek(off); b = f.read(n)
        a = np.frombuffer(b, dtype=np.float32 if dt == 'float32' else np.uint16)
        if dt == 'bfloat16': a = (a.astype(np.uint32) << 16).view(np.float32)
        arrs.append(a.reshape(${ROWS}, ${COLS}))
t = time.perf_counter()
for a in arrs:
    v = a.ravel(); fin = np.isfinite(v); f = v[fin]
    mn, mx, m, sd = f.min(), f.max(), f.mean(), f.std()
    d = f - m; k = (d**4).mean() / (d**2).mean()**2 - 3
    z, nan, inf = (v == 0).sum(), np.isnan(v).sum(), np.isinf(v).sum()
    h = np.histogram(f, 64)
    med = np.median(f); mad = np.median(np.abs(f - med))
    rn = np.linalg.norm(a, axis=1); cn = np.linalg.norm(a, axis=0)
print(time.perf_counter() - t)
`;
  const specs = JSON.stringify(tensors.map((t) => [t.offset, t.length, t.dtype]));
  const numpy = Number(execFileSync('/usr/bin/python3', ['-c', py, path, specs], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim());
  const mb = bytes.reduce((a, b) => a + b.length, 0) / 1e6;
  return {
    name: `stats: CPU statistics vs NumPy's equivalent (${tensors[0].dtype}, ${tensors.length}×[${ROWS}, ${COLS}])`,
    ratio: numpy / ours,
    value: mb / ours,
    baseline: mb / numpy,
    unit: 'MB/s',
    target: 1,
  };
}

/**
 * The page, end to end in headless Chromium: the whole inspection of each safetensors file (reads, WASM
 * hash and statistics on their own workers, then the weight analyses) against the whole inspection of a
 * file of random bytes of the same size (no tensors: reads and hash alone).
 */
async function pagePasses(files: string[]): Promise<BenchRow[]> {
  return withBuiltPage(async ({ page }) => {
    const rows: BenchRow[] = [];
    for (const path of files) {
      const size = statSync(path).size;
      const plain = randomFile(`random-${size}.bin`, size);
      execFileSync('sh', ['-c', `cat "${path}" > /dev/null`]);
      const alone = await timeInspection(page, [plain]);
      const both = await timeInspection(page, [path]);
      const dtype = path.includes('bf16') ? 'bfloat16' : 'float32';
      rows.push({
        name: `stats: hash+statistics in one pass vs hash alone (${dtype}, ${(size / GiB).toFixed(1)} GiB, page in Chromium, whole inspection)`,
        ratio: alone / both,
        value: size / 1e6 / both,
        baseline: size / 1e6 / alone,
        unit: 'MB/s',
        target: 0.8,
        note: `load average ${loadavg()[0].toFixed(2)}`,
      });
    }
    return rows;
  });
}

/**
 * WebGPU against the CPU on the page's self-test reduction (counts, moments, 8192 log bins of 1M values,
 * src/runtime/webgpu), in Chromium with WebGPU enabled. Here the only adapter is SwiftShader, a CPU
 * renderer, so the row says which adapter it measured; the CPU row is the worker's fallback code.
 */
async function webGpuVersusCpu(): Promise<BenchRow[]> {
  return withBuiltPage(
    async ({ page }) => {
      await page.setInputFiles('[data-testid="file-input"]', join(import.meta.dirname, '../fixtures/calibration/stats-tensors.safetensors'));
      await page.waitForSelector('[data-testid="backend-name"]', { timeout: 60_000 });
      await page.click('[data-testid="selftest-run"]');
      const res = page.locator('[data-testid="selftest-result"]');
      await res.waitFor({ timeout: 300_000 });
      const backend = await res.getAttribute('data-backend');
      if (backend !== 'webgpu') return [];
      const gpu = Number(await res.getAttribute('data-gpu-ms'));
      const cpu = Number(await res.getAttribute('data-cpu-ms'));
      const adapter = (await res.getAttribute('data-adapter')) || 'unknown adapter';
      const ok = (await res.getAttribute('data-ok')) === 'true';
      return [{ name: `stats: WebGPU vs CPU reduction of 1M values in the page (${adapter}${ok ? '' : ', RESULTS DISAGREE'})`, ratio: cpu / gpu, value: gpu, baseline: cpu, unit: 'ms', lowerIsBetter: false }];
    },
    { webgpu: true },
  );
}

export async function benchStats(): Promise<BenchRow[]> {
  const f32 = makeFile('stats-f32-2g.safetensors', 'F32', 8); // 8 × 256 MiB = 2 GiB
  const bf16 = makeFile('stats-bf16-2g.safetensors', 'BF16', 16); // 16 × 128 MiB = 2 GiB
  const rows: BenchRow[] = [];
  for (const p of [f32, bf16]) {
    rows.push(await onePass(p, 'cli'));
    rows.push(await onePass(p, 'page'));
    rows.push(await onePass(p, 'one-thread'));
    rows.push(await versusNumpy(p));
  }
  return rows;
}

/** The page's rows: the real pass in Chromium, and WebGPU against the CPU where an adapter exists. */
export async function benchStatsPage(): Promise<BenchRow[]> {
  const f32 = makeFile('stats-f32-2g.safetensors', 'F32', 8);
  const bf16 = makeFile('stats-bf16-2g.safetensors', 'BF16', 16);
  return [...(await pagePasses([f32, bf16])), ...(await webGpuVersusCpu())];
}
