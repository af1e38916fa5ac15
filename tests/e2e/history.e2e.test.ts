import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from '../helpers/browser';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { serveStatic, type StaticServer } from '../helpers/static-server';

const ROOT = join(__dirname, '..', '..');
let server: StaticServer;
let hub: HubServer;

beforeAll(async () => {
  hub = await startHubServer();
  const hubUrl = new URL(hub.url);
  // The page and the stand-in Hub share one origin (a same-origin mirror), so the page's CSP applies as is.
  server = await serveStatic(join(ROOT, 'dist'), '/', (req, res) => {
    const up = request({ host: hubUrl.hostname, port: hubUrl.port, path: req.url, method: req.method, headers: { ...req.headers, host: hubUrl.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
});
afterAll(async () => {
  await server?.close();
  await hub?.close();
});

async function ready(page: Page) {
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
}

async function inspectSample(page: Page, id: string) {
  await page.click(`[data-testid="sample-${id}"]`);
  await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
}

describe('history, reports and the Hub look-up', () => {
  it('keeps every inspection across reloads; export → import round-trips into a fresh profile', async () => {
    const b = await launchBrowser();
    let exported = '';
    try {
      const page = await b.context.newPage();
      await page.goto(server.url);
      await ready(page);
      await inspectSample(page, 'clean-mlp');
      await inspectSample(page, 'overlap');
      await page.click('[data-testid="nav-history"]');
      await expect.poll(() => page.locator('[data-testid="history-entry"]').count()).toBe(2);
      await page.reload();
      await ready(page);
      const verdicts = await page.locator('[data-testid="history-entry"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')).sort());
      expect(verdicts).toEqual(['clean', 'error']);
      await page.fill('[data-testid="history-search"]', 'overlap');
      await expect.poll(() => page.locator('[data-testid="history-entry"]').count()).toBe(1);
      await page.fill('[data-testid="history-search"]', '');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="history-export"]')]);
      exported = readFileSync((await download.path())!, 'utf8');
      // opening a stored report shows it without the model
      await page.locator('[data-testid="history-open"]').first().click();
      await page.waitForSelector('[data-testid="verdict"]');
    } finally {
      await b.close();
    }
    expect(JSON.parse(exported)).toBeTruthy();
    const fresh = await launchBrowser();
    try {
      const page = await fresh.context.newPage();
      await page.goto(`${server.url}#history`);
      await ready(page);
      await page.waitForSelector('[data-testid="history-empty"]');
      await page.setInputFiles('[data-testid="history-import-input"]', { name: 'history.json', mimeType: 'application/json', buffer: Buffer.from(exported) });
      await expect.poll(async () => (await page.textContent('[data-testid="history-imported"]')) ?? '').toMatch(/Imported 2/);
      expect(await page.locator('[data-testid="history-entry"]').count()).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it('a share link opens in a fresh profile with the same verdict and findings, without the model', async () => {
    const b = await launchBrowser();
    let link = '';
    let ids: (string | null)[] = [];
    try {
      await b.context.grantPermissions(['clipboard-read', 'clipboard-write']);
      const page = await b.context.newPage();
      await page.goto(server.url);
      await ready(page);
      await inspectSample(page, 'overlap');
      ids = await page.locator('[data-testid="finding"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
      await page.click('[data-testid="share-link"]');
      link = (await page.locator('[data-testid="share-link-value"]').inputValue().catch(() => page.textContent('[data-testid="share-link-value"]'))) ?? '';
    } finally {
      await b.close();
    }
    expect(link).toMatch(/#r=/);
    const fresh = await launchBrowser();
    try {
      const requests: string[] = [];
      fresh.context.on('request', (r) => requests.push(r.url()));
      const page = await fresh.context.newPage();
      await page.goto(link);
      await page.waitForSelector('[data-testid="shared-report"]');
      expect(await page.getAttribute('[data-testid="shared-verdict"]', 'data-verdict').catch(() => null) ?? (await page.textContent('[data-testid="shared-verdict"]'))).toMatch(/error|Errors/);
      const shown = await page.locator('[data-testid="shared-finding"]').allTextContents();
      for (const id of ids) expect(shown.join('\n')).toContain(id!);
      // nothing but the page's own assets was fetched: the summary lives in the fragment
      expect(requests.filter((u) => new URL(u).origin !== new URL(server.url).origin)).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('the Hub look-up contacts the Hub only after the click, and compares every file', async () => {
    const b = await launchBrowser();
    try {
      const page = await b.context.newPage();
      await page.goto(server.url);
      await page.evaluate((u) => localStorage.setItem('tamperscope.hubUrl', u), server.url);
      await page.reload();
      await ready(page);
      await page.setInputFiles('[data-testid="folder-input"]', join(ROOT, 'tests/fixtures/integrity/model'));
      await page.waitForSelector('[data-testid="export-json"]:not([disabled])', { timeout: 60_000 });
      await page.waitForSelector('[data-testid="hub-lookup"]');
      await new Promise((r) => setTimeout(r, 500));
      expect(hub.requests).toEqual([]);
      await page.fill('[data-testid="hub-repo"]', 'tamperscope-test/tiny-model');
      await page.click('[data-testid="hub-submit"]');
      await page.waitForSelector('[data-testid="hub-summary"]', { timeout: 30_000 });
      expect(hub.requests.length).toBeGreaterThan(0);
      expect(hub.requests.every((r) => r.url.startsWith('/api/models/tamperscope-test/tiny-model/'))).toBe(true);
      const rows = await page.locator('[data-testid="hub-row"]').count();
      expect(rows).toBeGreaterThanOrEqual(3);
      expect(await page.getAttribute('[data-testid="verdict"]', 'data-verdict')).toBe('clean');
      await page.screenshot({ path: join(__dirname, '.artifacts', 'hub.png'), fullPage: true });
    } finally {
      await b.close();
    }
  });
});
