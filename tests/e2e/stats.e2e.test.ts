import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSource } from '../../cli/node-source';
import type { TensorInfo } from '../../src/core/model/types';
import type { Report } from '../../src/core/report/report';
import { readTensorValues } from '../../src/core/stats/read-tensor';
import type { TensorStats } from '../../src/core/stats/types';
import { rowToImage } from '../../src/ui/stats/row-image';
import { formatStat } from '../../src/ui/stats/stat-format';
import { launchBrowser, type Browser } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

const ROOT = join(__dirname, '..', '..');
const CAL = join(ROOT, 'tests/fixtures/calibration');
const LATCHED = join(CAL, 'latched.safetensors');
const ARTIFACTS = join(__dirname, '.artifacts');
mkdirSync(ARTIFACTS, { recursive: true });
/** what tests/fixtures/make_calibration.py planted: the rows a fired data trap latched */
const calibration = JSON.parse(readFileSync(join(CAL, 'calibration.json'), 'utf8')) as { latched: { latchedRows: number[] }; inputShape: number[] };

let server: StaticServer;
beforeAll(async () => {
  server = await serveStatic(join(ROOT, 'dist'), '/');
});
afterAll(async () => {
  await server?.close();
});

async function inspectLatched(page: Page): Promise<Report> {
  await page.goto(server.url);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
  await page.setInputFiles('[data-testid="file-input"]', LATCHED);
  await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
  return JSON.parse(readFileSync((await download.path())!, 'utf8')) as Report;
}

/** RGBA pixels of a row image's canvas as the page drew them */
const canvasPixels = (page: Page, selector: string) =>
  page.locator(selector).first().evaluate((fig) => {
    const c = fig.querySelector('canvas')!;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  });

describe('the weights view', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('ranks the latched layer first, shows its statistics as the report has them, and draws the stolen rows', async () => {
    const page = await browser.context.newPage();
    const report = await inspectLatched(page);
    const stats = report.statistics as TensorStats[];
    const fc1 = stats.find((s) => s.name === 'fc1.weight')!;
    expect(report.findings.find((f) => f.id === 'privacy/latched-rows')?.evidence?.rows).toEqual(calibration.latched.latchedRows);

    // overview: the latched tensor first (two dangerous findings name it)
    const order = await page.locator('[data-testid="anomaly-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-tensor')));
    expect(order[0]).toBe('fc1.weight');
    expect(new Set(order)).toEqual(new Set(stats.map((s) => s.name)));
    await page.locator('[data-testid="anomaly-open"]').first().click();
    await page.waitForSelector('[data-testid="tensor-view"][data-tensor="fc1.weight"]');

    // statistics, exactly as formatted from the exported report
    for (const k of ['min', 'max', 'mean', 'std', 'median', 'kurtosis', 'robustSigma'] as const) {
      const shown = (await page.textContent(`[data-testid="stat-${k}"]`))!.trim();
      expect(shown, k).toBe(formatStat(fc1[k]));
      expect(Math.abs(Number(shown) - fc1[k]!)).toBeLessThanOrEqual(Math.abs(fc1[k]!) * 1e-4);
    }
    expect(await page.getAttribute('[data-stat="zeros"]', 'class')).not.toMatch(/\bodd\b/);
    expect(await page.textContent('[data-testid="spectral-norm"]')).toBe(formatStat(fc1.spectral!.spectralNorm));
    expect(await page.textContent('[data-testid="stable-rank"]')).toBe(formatStat(fc1.spectral!.stableRank));
    expect(await page.textContent('[data-testid="alpha"]')).toBe(formatStat(fc1.spectral!.alpha));

    // histogram: 64 bars with the report's counts, the overflow bins beside them
    const bars = await page.locator('[data-testid="tensor-view"] [data-testid="hist-bar"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(bars).toEqual(fc1.histogram!.counts);
    expect(bars).toHaveLength(64);
    expect(Number(await page.getAttribute('[data-testid="hist-below"]', 'data-count'))).toBe(fc1.histogram!.below);
    expect(Number(await page.getAttribute('[data-testid="hist-above"]', 'data-count'))).toBe(fc1.histogram!.above);

    // row norms: every row, the latched rows marked
    expect(await page.locator('[data-testid="norms-row"] [data-testid="norm-bar"]').count()).toBe(128);
    const flags = await page.locator('[data-testid="norms-row"] [data-testid="norm-flag"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));
    expect(flags).toEqual(expect.arrayContaining(calibration.latched.latchedRows));
    await page.locator('[data-testid="tensor-view"]').screenshot({ path: join(ARTIFACTS, 'stats-tensor.png') });

    // the latched rows as 16×16 images, read from the file
    const group = page.locator('[data-testid="row-group"][data-finding="privacy/latched-rows"]');
    await expect.poll(() => group.locator('[data-testid="row-image"][data-source="file"]').count(), { timeout: 10_000 }).toBe(calibration.latched.latchedRows.length);
    const drawn = await group.locator('[data-testid="row-image"]').evaluateAll((els) => els.map((e) => ({ row: Number(e.getAttribute('data-row')), shape: e.getAttribute('data-shape') })));
    expect(drawn.map((d) => d.row)).toEqual(calibration.latched.latchedRows);
    expect(new Set(drawn.map((d) => d.shape))).toEqual(new Set([calibration.inputShape.join('x')]));

    // one drawn row reproduces readTensorValues on the same bytes, pixel for pixel
    const t = report.tensors.find((x) => x.name === 'fc1.weight')!;
    const info: TensorInfo = { ...t, dtype: t.dtype as TensorInfo['dtype'], numel: t.shape[0] * t.shape[1] };
    const src = await NodeFileSource.open(LATCHED);
    const all = await readTensorValues(src, info, 1 << 20).finally(() => src.close());
    const r = calibration.latched.latchedRows[0];
    const row = all.subarray(r * 256, (r + 1) * 256);
    const expected = rowToImage(row, [16, 16]);
    const sel = `[data-testid="row-group"][data-finding="privacy/latched-rows"] [data-testid="row-image"][data-row="${r}"]`;
    expect(Number(await page.getAttribute(sel, 'data-min'))).toBe(Math.min(...row));
    expect(Number(await page.getAttribute(sel, 'data-max'))).toBe(Math.max(...row));
    expect(await page.getAttribute(sel, 'data-flipped')).toBe(String(expected.flipped));
    expect(await canvasPixels(page, sel)).toEqual(Array.from(expected.data));

    // any row, through the picker
    await page.fill('[data-testid="row-picker"]', '5');
    await page.locator('[data-testid="row-picker"]').dispatchEvent('change');
    const picked = '[data-testid="picked-row"] [data-testid="row-image"][data-row="5"][data-source="file"]';
    await page.waitForSelector(picked);
    const row5 = all.subarray(5 * 256, 6 * 256);
    expect(await canvasPixels(page, picked)).toEqual(Array.from(rowToImage(row5, [16, 16]).data));
    await page.locator('[data-testid="row-images"]').screenshot({ path: join(ARTIFACTS, 'stats-rows.png') });

    // the log2 view, and the backend line (no WebGPU in this browser: the reason is shown)
    await page.click('[data-testid="hist-log2"]');
    const es = fc1.log2Histogram.map((b) => b.e);
    expect(await page.locator('[data-testid="log2-bar"]').count()).toBe(Math.max(...es) - Math.min(...es) + 1);
    await page.waitForSelector('[data-testid="backend-name"]');
    expect(await page.textContent('[data-testid="backend-line"]')).toContain('Statistics computed by: the CPU');
    if ((await page.getAttribute('[data-testid="backend-name"]', 'data-backend')) === 'cpu') expect((await page.textContent('[data-testid="backend-fallback"]'))!.length).toBeGreaterThan(5);
    await page.locator('[data-testid="stats-section"] .overview').screenshot({ path: join(ARTIFACTS, 'stats-overview.png') });

    // the tensor table: statistic columns, sorting, and a click opens another tensor
    await page.click('[data-testid="sort-absMax"]');
    const fc2 = stats.find((s) => s.name === 'fc2.weight')!;
    expect(await page.textContent('[data-testid="tensor-table"] tr[data-tensor="fc2.weight"] [data-stat="mean"]')).toBe(formatStat(fc2.mean));
    await page.click('[data-testid="tensor-table"] tr[data-tensor="fc2.weight"] [data-testid="tensor-open"]');
    await page.waitForSelector('[data-testid="tensor-view"][data-tensor="fc2.weight"]');
    expect(await page.textContent('[data-testid="stat-zeros"]')).toMatch(/^1,624 /);
    expect(await page.getAttribute('[data-stat="zeros"]', 'class')).toMatch(/\bodd\b/);

    // the findings list draws the rows its evidence carries (all 6 latched rows: 16×16 inputs keep up to 16)
    expect(await page.locator('[data-testid="finding"][data-id="privacy/latched-rows"] [data-testid="finding-rows"] [data-testid="row-image"]').count()).toBe(6);
    await page.screenshot({ path: join(ARTIFACTS, 'stats-page.png'), fullPage: true });

    // from the history there are no bytes: only the rows kept in the evidence, and it says so
    await page.click('[data-testid="nav-history"]');
    await page.locator('[data-testid="history-open"]').first().click();
    await page.waitForSelector('[data-testid="tensor-view"][data-tensor="fc1.weight"]');
    await page.waitForSelector('[data-testid="no-bytes"]');
    expect(await page.textContent('[data-testid="no-bytes"]')).toMatch(/bytes are not available/);
    const kept = await page.locator('[data-testid="row-group"][data-finding="privacy/latched-rows"] [data-testid="row-image"]').evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-row')), e.getAttribute('data-source')]));
    expect(kept).toEqual(calibration.latched.latchedRows.map((x: number) => [x, 'evidence']));
    expect(await canvasPixels(page, sel)).toEqual(Array.from(expected.data));
    await page.locator('[data-testid="row-images"]').screenshot({ path: join(ARTIFACTS, 'stats-rows-history.png') });
    await page.close();
  });
});

describe('the WebGPU self-test in the page', () => {
  it('agrees with the CPU when an adapter exists, else shows why the CPU is used', async () => {
    const browser = await launchBrowser({ webgpu: true });
    try {
      const page = await browser.context.newPage();
      await inspectLatched(page);
      await page.waitForSelector('[data-testid="backend-name"]', { timeout: 30_000 });
      await page.click('[data-testid="selftest-run"]');
      const res = page.locator('[data-testid="selftest-result"]');
      await res.waitFor({ timeout: 110_000 });
      const attr = async (k: string) => res.getAttribute(k);
      const result = {
        backend: await attr('data-backend'),
        ok: (await attr('data-ok')) === 'true',
        countsMatch: (await attr('data-counts-match')) === 'true',
        binsMatch: (await attr('data-bins-match')) === 'true',
        minMaxMatch: (await attr('data-min-max-match')) === 'true',
        maxRelError: Number(await attr('data-max-rel-error')),
        tolerance: Number(await attr('data-tolerance')),
        text: (await res.textContent())!.replace(/\s+/g, ' ').trim(),
        line: (await page.textContent('[data-testid="backend-line"]'))!.replace(/\s+/g, ' ').trim(),
      };
      writeFileSync(join(ARTIFACTS, 'stats-webgpu.json'), JSON.stringify(result, null, 2));
      console.log('webgpu self-test:', JSON.stringify(result));
      await page.locator('[data-testid="stats-section"]').screenshot({ path: join(ARTIFACTS, 'stats-webgpu.png') });
      if (result.backend === 'webgpu') {
        expect(result).toMatchObject({ ok: true, countsMatch: true, binsMatch: true, minMaxMatch: true });
        expect(result.maxRelError).toBeLessThanOrEqual(result.tolerance);
      } else {
        expect(await page.textContent('[data-testid="backend-fallback"]')).toMatch(/\w{4,}/);
      }
      await page.close();
    } finally {
      await browser.close();
    }
  });
});
