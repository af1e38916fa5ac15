import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

/** The hostile corpus through the page: every entry gets its manifest verdict and categories there too. */
const ROOT = join(__dirname, '..', '..');
const HOSTILE = join(ROOT, 'tests/fixtures/hostile');
const entries = readdirSync(HOSTILE)
  .filter((f) => /^manifest-.*\.json$/.test(f))
  .flatMap((m) => JSON.parse(readFileSync(join(HOSTILE, m), 'utf8')) as { path: string; verdict: string; categories?: string[] }[]);

let server: StaticServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await serveStatic(join(ROOT, 'dist'));
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(server.url);
  await page.waitForSelector('html[data-ready="true"]');
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('hostile corpus in the page', () => {
  it(`${entries.length} entries`, async () => {
    const wrong: string[] = [];
    for (const e of entries) {
      const path = join(HOSTILE, e.path);
      const run = Number((await page.getAttribute('[data-testid="run"]', 'data-run').catch(() => '0')) ?? '0') + 1;
      await page.setInputFiles(statSync(path).isDirectory() ? '[data-testid="folder-input"]' : '[data-testid="file-input"]', path);
      await page.waitForSelector(`[data-testid="run"][data-run="${run}"]:is([data-phase="done"], [data-phase="failed"])`, { timeout: 60_000 });
      if ((await page.getAttribute('[data-testid="run"]', 'data-phase')) === 'failed') {
        wrong.push(`${e.path}: the inspection failed: ${await page.textContent('[data-testid="run-error"]')}`);
        continue;
      }
      const verdict = await page.getAttribute('[data-testid="verdict"]', 'data-verdict');
      // every finding's category, informational ones included (the list hides those by default)
      const cats = ((await page.getAttribute('[data-testid="findings"]', 'data-categories')) ?? '').split(' ');
      const missing = (e.categories ?? []).filter((c) => !cats.includes(c));
      if (verdict !== e.verdict || missing.length) wrong.push(`${e.path}: ${verdict} (want ${e.verdict}) missing ${missing.join(',')}`);
    }
    expect(wrong).toEqual([]);
  });
});
