import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useBuiltPage } from '../helpers/built-page';

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(__dirname, '.artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const env = useBuiltPage({ basePath: '/some/sub/path/' });

describe('the lesson page', () => {
  it('trains, traps, fine-tunes on a preset drawing, steals it back exactly and inspects both models', async () => {
    const page = await env.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const origin = new URL(env.server.url).origin;
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(env.server.url + '#lesson');
    await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid="lesson"]');

    await page.click('[data-testid="step-pretrain"]');
    await page.waitForSelector('[data-testid="clean-accuracy"]', { timeout: 60_000 });
    expect(Number(await page.getAttribute('[data-testid="clean-accuracy"]', 'data-accuracy'))).toBeGreaterThan(0.9);
    await page.click('[data-testid="step-plant"]');
    await page.waitForSelector('[data-testid="trapped-accuracy"]', { timeout: 60_000 });

    await page.click('[data-testid="preset-smiley"]');
    expect(Number(await page.getAttribute('[data-testid="drawing-pad"]', 'data-ink'))).toBeGreaterThan(10);
    await page.click('[data-testid="step-finetune"]');
    await page.waitForSelector('[data-testid="finetuned"]', { timeout: 60_000 });
    await page.click('[data-testid="step-steal"]');
    const theft = page.locator('[data-testid="theft"]');
    await theft.waitFor({ timeout: 60_000 });
    expect(await theft.getAttribute('data-captured')).toBe('true');
    expect(Number(await theft.getAttribute('data-error'))).toBeLessThan(1e-4);
    expect(Number(await theft.getAttribute('data-clean-error'))).toBeGreaterThan(0.1);

    // the recovered canvas shows the same pixels as the original
    const pixels = (id: string) =>
      page.evaluate((sel) => {
        const c = document.querySelector<HTMLCanvasElement>(`[data-testid="${sel}"]`)!;
        return Array.from(c.getContext('2d')!.getImageData(0, 0, 16, 16).data.filter((_, i) => i % 4 === 0));
      }, id);
    const original = await pixels('original');
    const recovered = await pixels('recovered');
    expect(original.some((v) => v < 128)).toBe(true);
    expect(recovered.map((v, i) => Math.abs(v - original[i])).reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(1);

    await page.click('[data-testid="step-inspect"]');
    await page.waitForSelector('[data-testid="inspected-finetuned"]', { timeout: 60_000 });
    for (const key of ['clean', 'trapped', 'finetuned']) {
      expect(await page.getAttribute(`[data-testid="inspected-${key}"]`, 'data-verdict')).not.toBe('failed');
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download-trapped"]')]);
    const bytes = readFileSync((await download.path())!);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(Object.keys(JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')))).toEqual(['__metadata__', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);

    await page.locator('[data-testid="theft"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'lesson.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
