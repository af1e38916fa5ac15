import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useBuiltPage } from '../helpers/built-page';

const ROOT = join(__dirname, '..', '..');
const PROBES = join(ROOT, 'tests/fixtures/probes');
const env = useBuiltPage({ webgpu: true });

async function probe(file: string, backend: 'auto' | 'webgpu' | 'wasm' = 'auto') {
  const page = await env.browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(env.server.url);
  await page.waitForSelector('html[data-ready="true"]');
  await page.setInputFiles('[data-testid="file-input"]', join(PROBES, file));
  await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
  await page.selectOption('[data-testid="probe-backend-select"]', backend);
  await page.click('[data-testid="run-probes"]');
  await page.waitForSelector('[data-testid="probes"][data-state="done"], [data-testid="probes"][data-state="failed"]', { timeout: 240_000 });
  const state = await page.getAttribute('[data-testid="probes"]', 'data-state');
  const ids = await page.locator('[data-testid="finding"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
  const report = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8'));
  await page.close();
  return { state, ids, report, errors };
}

describe('canary probes in the page', () => {
  it('flag the trapped MLP from its behaviour, served WASM from our own origin', async () => {
    // WebGPU asked for explicitly: on a software adapter the automatic choice is WASM
    const r = await probe('mlp-trapped.onnx', 'webgpu');
    console.log('probe backend', JSON.stringify(r.report.probes.backend), JSON.stringify(r.report.probes.checks));
    expect(r.errors).toEqual([]);
    expect(r.state).toBe('done');
    expect(r.ids).toContain('probe/latched-unit');
    expect(r.report.verdict).toBe('dangerous');
    expect(['wasm', 'webgpu']).toContain(r.report.probes.backend.name);
    if (r.report.probes.backend.name === 'webgpu') {
      // where an adapter exists, WebGPU and WASM must agree on the same probe within tolerance
      const agreement = r.report.probes.checks.find((c: { id: string }) => c.id === 'backend-agreement');
      expect(agreement, JSON.stringify(r.report.probes.checks)).toMatchObject({ passed: true });
    } else {
      expect(r.report.probes.backend.fallbackReason).toEqual(expect.any(String));
    }
  });

  it('pick WASM by themselves when the only WebGPU adapter is a software renderer, and say why', async () => {
    const r = await probe('mlp-trapped.onnx');
    expect(r.state).toBe('done');
    expect(r.ids).toContain('probe/latched-unit');
    const b = r.report.probes.backend;
    if (b.name === 'wasm') expect(b.fallbackReason).toMatch(/webgpu/);
  });

  it('leave the clean MLP alone', async () => {
    const r = await probe('mlp-clean.onnx');
    expect(r.state).toBe('done');
    expect(r.ids.filter((i) => i?.startsWith('probe/'))).toEqual([]);
    expect(r.report.verdict).toBe('clean');
  });
});
