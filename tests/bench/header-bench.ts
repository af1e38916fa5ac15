import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NodeFileSource } from '../../cli/node-source';
import { inspect } from '../../src/core/inspect';
import { launchBrowser } from '../helpers/browser';
import { serveStatic } from '../helpers/static-server';
import { DATA, GiB } from './data';
import type { BenchRow } from './rows';
import { buildOnce } from './page';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * A 10 GB safetensors file that is almost all hole: a real header (200 tensors of 50 MB) and a sparse
 * data section. Header-only results must not depend on the file size.
 */
function sparseSafetensors(): string {
  const path = join(DATA, 'sparse-10g.safetensors');
  const size = 10 * 1000 ** 3;
  if (existsSync(path) && statSync(path).size > 0) return path;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const n = 200;
  let text = '';
  let per = 0;
  // choose a tensor size so the data section ends exactly at `size`
  for (let pass = 0; pass < 2; pass++) {
    const dataStart = 8 + Buffer.byteLength(text);
    per = Math.floor((size - dataStart) / n / 4) * 4;
    let off = 0;
    for (let i = 0; i < n; i++) {
      header[`layers.${i}.weight`] = { dtype: 'F32', shape: [per / 4], data_offsets: [off, off + per] };
      off += per;
    }
    text = JSON.stringify(header);
  }
  const hb = Buffer.from(text);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const fd = openSync(path, 'w');
  writeSync(fd, len);
  writeSync(fd, hb);
  ftruncateSync(fd, 8 + hb.length + per * n);
  closeSync(fd);
  return path;
}

/** A 1.5 GB ONNX model with inline raw_data, written by the real onnx package (made once, reused). */
function largeOnnx(): string {
  const path = join(DATA, 'large-1.5g.onnx');
  if (!existsSync(path)) execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'make_large_onnx.py'), path], { stdio: 'inherit' });
  return path;
}

async function headerOnlyNode(path: string): Promise<{ ms: number; tensors: number }> {
  const t0 = performance.now();
  const source = await NodeFileSource.open(path);
  const { report } = await inspect([source], { skipStream: true });
  const ms = performance.now() - t0;
  await source.close();
  return { ms, tensors: report.model?.tensorCount ?? 0 };
}

export async function benchHeaderOnly(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const path = sparseSafetensors();
  const size = statSync(path).size;
  const onnxPath = largeOnnx();
  const onnxSize = statSync(onnxPath).size;

  // core, in Node: header-only inspection (no streaming pass)
  const st = await headerOnlyNode(path);
  if (st.tensors !== 200) throw new Error(`expected 200 tensors, got ${st.tensors}`);
  rows.push({ name: `header-only results, ${(size / GiB).toFixed(1)} GiB sparse safetensors (core, Node) vs 1 s budget`, ratio: st.ms / 1000, value: st.ms, baseline: 1000, unit: 'ms', target: 1, lowerIsBetter: true });
  const ox = await headerOnlyNode(onnxPath);
  if (ox.tensors !== 15) throw new Error(`expected 15 tensors in the large ONNX model, got ${ox.tensors}`);
  rows.push({ name: `header-only results, ${(onnxSize / GiB).toFixed(1)} GiB ONNX (core, Node) vs 1 s budget`, ratio: ox.ms / 1000, value: ox.ms, baseline: 1000, unit: 'ms', target: 1, lowerIsBetter: true });

  // the page: from handing over the file to the first drawn verdict (hashing goes on afterwards; cancelled)
  buildOnce();
  const server = await serveStatic(join(ROOT, 'dist'));
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.waitForSelector('html[data-ready="true"]');
    for (const [file, label, want] of [
      [path, `${(size / GiB).toFixed(1)} GiB sparse safetensors`, '200'],
      [onnxPath, `${(onnxSize / GiB).toFixed(1)} GiB ONNX`, '15'],
    ] as const) {
      await page.reload();
      await page.waitForSelector('html[data-ready="true"]');
      const t = performance.now();
      await page.setInputFiles('[data-testid="file-input"]', file);
      await page.waitForSelector('[data-testid="verdict"]', { timeout: 60_000 });
      const pageMs = performance.now() - t;
      const count = await page.textContent('[data-testid="tensor-count"]');
      if (count !== want) throw new Error(`page shows ${count} tensors for ${label}`);
      await page.click('[data-testid="cancel"]').catch(() => undefined);
      rows.push({ name: `header-only results, ${label} (page) vs 1 s budget`, ratio: pageMs / 1000, value: pageMs, baseline: 1000, unit: 'ms', target: 1, lowerIsBetter: true, note: 'setInputFiles to drawn verdict' });
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return rows;
}
