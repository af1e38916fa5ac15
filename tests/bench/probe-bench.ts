import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeBackendFactory } from '../../cli/ort-node';
import { MemorySource } from '../../src/core/io/byte-source';
import { openSession } from '../../src/core/probes/backend';
import { runProbes } from '../../src/core/probes/run-probes';
import { planProbeInputs, synthesizeProbes } from '../../src/core/probes/synthesize-inputs';
import type { BenchRow } from './rows';
import { buildOnce } from './page';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The canary probe suite's cost on small models, per backend available in Node (WASM; WebGPU rows are
 * measured in Chromium), as a ratio against one plain inference run of the same model measured in the
 * same process: "the whole suite costs N single inferences".
 */
export async function benchProbes(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const models = [
    { label: 'MLP 256-64-10', path: 'tests/fixtures/probes/mlp-trapped.onnx' },
    { label: 'CNN 3x32x32', path: 'tests/fixtures/probes/cnn-trigger.onnx' },
    { label: 'Silero VAD legacy', path: 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx' },
  ];
  for (const m of models) {
    const bytes = new Uint8Array(readFileSync(join(ROOT, m.path)));
    const name = m.path.split('/').pop()!;
    const candidates = await nodeBackendFactory();
    for (const backend of candidates.backends) {
      // baseline: one inference of one probe batch (median of 15, after a warm-up), session already open
      const opened = await openSession({ backends: [backend], unavailable: [] }, bytes);
      const plan = planProbeInputs(opened.session.inputs);
      const [run] = synthesizeProbes(plan, { examplesPerKind: plan.batch });
      await opened.session.run(run.feeds);
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        await opened.session.run(run.feeds);
        times.push(performance.now() - t);
      }
      await opened.session.release();
      times.sort((a, b) => a - b);
      const single = times[times.length >> 1];
      // the suite with its defaults, session creation included (as the CLI runs it)
      const t0 = performance.now();
      const report = await runProbes({ format: 'onnx', files: [name], tensors: [], metadata: {} }, [new MemorySource(bytes, name)], async () => ({ backends: [backend], unavailable: [] }));
      const suite = performance.now() - t0;
      if (report.status !== 'ran') throw new Error(`probes did not run on ${m.label}: ${report.reason}`);
      const runs = report.latency.find((l) => l.what === 'run')?.count ?? 0;
      rows.push({
        name: `probe suite, ${m.label} (${backend.name}, Node) vs one inference of ${plan.batch}`,
        ratio: suite / single,
        value: suite,
        baseline: single,
        unit: 'ms',
        lowerIsBetter: true,
        note: `${runs} basic runs, ${report.layers.length} swept layers${report.trigger ? `, ${report.trigger.patchesTried} trigger patches` : ''}${report.latch ? `, latch over ${report.latch.canaries} canaries` : ''}`,
      });
    }
  }
  return rows;
}

/**
 * The same suite in the page (headless Chromium with WebGPU enabled: SwiftShader here, a real GPU
 * elsewhere), per backend the page picks: time from the click to the merged report, against the median
 * single inference the suite itself measured on that backend.
 */
export async function benchProbesPage(): Promise<BenchRow[]> {
  const { launchBrowser } = await import('../helpers/browser');
  const { serveStatic } = await import('../helpers/static-server');
  buildOnce();
  const server = await serveStatic(join(ROOT, 'dist'));
  const browser = await launchBrowser({ webgpu: true });
  const rows: BenchRow[] = [];
  try {
    // WebGPU on this machine's software adapter runs the CNN for over a minute: the CNN row is WASM only
    for (const m of [
      { label: 'MLP 256-64-10', path: 'tests/fixtures/probes/mlp-trapped.onnx', backend: 'wasm' },
      { label: 'MLP 256-64-10', path: 'tests/fixtures/probes/mlp-trapped.onnx', backend: 'webgpu' },
      { label: 'CNN 3x32x32', path: 'tests/fixtures/probes/cnn-trigger.onnx', backend: 'wasm' },
    ]) {
      const page = await browser.context.newPage();
      await page.goto(server.url);
      await page.waitForSelector('html[data-ready="true"]');
      await page.setInputFiles('[data-testid="file-input"]', join(ROOT, m.path));
      await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
      await page.selectOption('[data-testid="probe-backend-select"]', m.backend);
      const t = performance.now();
      await page.click('[data-testid="run-probes"]');
      await page.waitForSelector('[data-testid="probes"][data-state="done"]', { timeout: 600_000 });
      const suite = performance.now() - t;
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
      const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { probes: { backend: { name: string }; latency: { what: string; medianMs: number; batch: number }[] } };
      const run = report.probes.latency.find((l) => l.what === 'run');
      if (!run) throw new Error(`no inference latency in the page's probe report for ${m.label}`);
      rows.push({ name: `probe suite, ${m.label} (${report.probes.backend.name}, page) vs one inference of ${run.batch}`, ratio: suite / run.medianMs, value: suite, baseline: run.medianMs, unit: 'ms', lowerIsBetter: true, note: 'click to merged report, worker start and session creation included' });
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return rows;
}
