import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report/report';
import { assertValidReport } from '../helpers/schema';
import { useBuiltPage } from '../helpers/built-page';

const ROOT = join(__dirname, '..', '..');
const ST = join(ROOT, 'tests/fixtures/safetensors');
const ARTIFACTS = join(__dirname, '.artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const env = useBuiltPage({ basePath: '/some/sub/path/' });

interface Recorded {
  url: string;
  afterReady: boolean;
}

/** Opens the page and records every request of the page and its workers, marking those made after ready. */
async function openPage(): Promise<{ page: Page; requests: Recorded[]; markReady: () => void }> {
  const requests: Recorded[] = [];
  let ready = false;
  const page = await env.browser.context.newPage();
  env.browser.context.on('request', (r) => requests.push({ url: r.url(), afterReady: ready }));
  await page.goto(env.server.url);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
  return { page, requests, markReady: () => (ready = true) };
}

async function waitComplete(page: Page): Promise<string> {
  await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
  return (await page.getAttribute('[data-testid="verdict"]', 'data-verdict'))!;
}

describe('the built page', () => {
  it('inspects a dropped file with no network request after load, and exports a schema-valid report', async () => {
    const { page, requests, markReady } = await openPage();
    markReady();
    const file = join(ST, 'clean-mlp.safetensors');
    await page.setInputFiles('[data-testid="file-input"]', file);
    const verdict = await waitComplete(page);
    expect(verdict).toBe('clean');
    const shown = (await page.textContent('[data-testid="sha256"]'))!.trim();
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(shown).toBe(digest);
    expect(await page.textContent('[data-testid="tensor-count"]')).toBe('4');
    await page.screenshot({ path: join(ARTIFACTS, 'clean.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
    const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Report;
    assertValidReport(report);
    expect(report.verdict).toBe('clean');
    expect(report.files[0]).toMatchObject({ name: 'clean-mlp.safetensors', sha256: digest, format: 'safetensors' });

    // The promise: nothing leaves the origin, and nothing at all is requested after the page loaded.
    const origin = new URL(env.server.url).origin;
    const foreign = requests.filter((r) => !r.url.startsWith(origin) && !r.url.startsWith('blob:') && !r.url.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(requests.filter((r) => r.afterReady && !r.url.startsWith('blob:'))).toEqual([]);
    await page.close();
  });

  it('the request recorder sees a fetch made after load, and the CSP blocks other hosts', async () => {
    const { page, requests, markReady } = await openPage();
    markReady();
    const blocked = await page.evaluate(async () => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const sameOrigin = await fetch('./index.html').then((r) => r.status);
      const foreign = await fetch('http://example.invalid/x').then(
        () => 'fetched',
        () => 'blocked',
      );
      await new Promise((r) => setTimeout(r, 100));
      return { sameOrigin, foreign, violations };
    });
    expect(blocked.sameOrigin).toBe(200);
    expect(blocked.foreign).toBe('blocked');
    expect(blocked.violations).toContain('connect-src');
    // the recorder caught the post-load fetch, so the zero-request assertion above can fail
    expect(requests.filter((r) => r.afterReady).map((r) => new URL(r.url).pathname)).toContain('/some/sub/path/index.html');
    await page.close();
  });

  it('opens the bundled samples with one click: sharded model and a malformed file', async () => {
    const { page } = await openPage();
    await page.click('[data-testid="sample-sharded"]');
    expect(await waitComplete(page)).toBe('clean');
    expect(await page.locator('[data-testid="files-table"] tbody tr').count()).toBe(3);
    await page.click('[data-testid="sample-overlap"]');
    expect(await waitComplete(page)).toBe('error');
    const ids = await page.locator('[data-testid="finding"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids).toEqual(expect.arrayContaining(['safetensors/overlap', 'safetensors/trailing-bytes']));
    await page.screenshot({ path: join(ARTIFACTS, 'malformed.png'), fullPage: true });
    await page.close();
  });

  it('a pasted digest that disagrees makes the verdict dangerous', async () => {
    const { page } = await openPage();
    await page.getByText('Expected digests (optional)').click();
    await page.fill('[data-testid="expected-input"]', 'ab'.repeat(32));
    await page.getByText('1 digest will be checked').waitFor();
    await page.setInputFiles('[data-testid="file-input"]', join(ST, 'clean-mlp.safetensors'));
    expect(await waitComplete(page)).toBe('dangerous');
    const ids = await page.locator('[data-testid="finding"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids).toContain('integrity/sha256-mismatch');
    await page.close();
  });

  it('a picked folder is one model, and the tensor table sorts and filters', async () => {
    const { page } = await openPage();
    await page.setInputFiles('[data-testid="folder-input"]', join(ST, 'sharded'));
    expect(await waitComplete(page)).toBe('clean');
    const names = () => page.locator('[data-testid="tensor-table"] tbody tr td.name').allTextContents();
    expect(await names()).toHaveLength(4);
    await page.fill('[data-testid="tensor-filter"]', 'bias');
    expect((await names()).sort()).toEqual(['fc1.bias', 'fc2.bias']);
    await page.fill('[data-testid="tensor-filter"]', '');
    await page.getByRole('button', { name: /^Name/ }).click();
    expect(await names()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    await page.getByRole('button', { name: /^Name/ }).click();
    expect(await names()).toEqual(['fc2.weight', 'fc2.bias', 'fc1.weight', 'fc1.bias']);
    await page.close();
  });

  it('compares with a picked reference model', async () => {
    const { page } = await openPage();
    await page.getByText('Compare with a trusted reference (optional)').click();
    await page.setInputFiles('[data-testid="reference-input"]', join(ST, 'clean-mlp.safetensors'));
    await page.getByText('1 file (').waitFor();
    await page.setInputFiles('[data-testid="folder-input"]', join(ST, 'sharded'));
    expect(await waitComplete(page)).toBe('clean');
    expect(await page.textContent('[data-testid="reference-view"]')).toContain('All 4 tensors are byte-identical to the reference');
    await page.close();
  });

  it('expands a pickle finding into the emulated program around it', async () => {
    const { page } = await openPage();
    await page.setInputFiles('[data-testid="file-input"]', join(ROOT, 'tests/fixtures/hostile/pickle/broken-after-payload.pkl'));
    expect(await waitComplete(page)).toBe('dangerous');
    const finding = page.locator('[data-testid="finding"][data-id="pickle/dangerous-call"]').first();
    await finding.locator('summary').click();
    await finding.locator('[data-testid="pickle-listing-button"]').click();
    const listing = await finding.locator('[data-testid="pickle-listing"]').textContent();
    expect(listing).toMatch(/GLOBAL\s+os system/);
    expect(listing).toMatch(/REDUCE.*call os\.system/);
    await page.screenshot({ path: join(ARTIFACTS, 'pickle-listing.png'), fullPage: true });
    await page.close();
  });
});
