import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

export const ROOT = join(import.meta.dirname, '..', '..');

let built = false;

/**
 * Builds the page (dist/) and the CLI bundle (dist-cli/) once per bench run, so every group measures the
 * code of this working tree: bin/ would otherwise fall back to tsx when the bundle is older than a source.
 */
export function buildOnce(): void {
  if (built) return;
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export interface BenchPage {
  page: Page;
  server: StaticServer;
  browser: Browser;
}

/** The built page served on 127.0.0.1 in a fresh headless Chromium, ready (`html[data-ready]`), for `fn`. */
export async function withBuiltPage<T>(fn: (ctx: BenchPage) => Promise<T>, opts: { webgpu?: boolean } = {}): Promise<T> {
  buildOnce();
  const server = await serveStatic(join(ROOT, 'dist'));
  const browser = await launchBrowser({ webgpu: opts.webgpu });
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.waitForSelector('html[data-ready="true"]');
    return await fn({ page, server, browser });
  } finally {
    await browser.close();
    await server.close();
  }
}

/**
 * Seconds the page takes to inspect `files` (its own "done in" figure: hand-over to the finished report,
 * every pass included), on a freshly reloaded page. `onSample` runs every 100 ms meanwhile.
 */
export async function timeInspection(page: Page, files: string[], onSample?: () => void): Promise<number> {
  await page.reload();
  await page.waitForSelector('html[data-ready="true"]');
  const t = Date.now();
  await page.setInputFiles('[data-testid="file-input"]', files);
  const timer = onSample ? setInterval(onSample, 100) : null;
  try {
    await page.waitForSelector('[data-testid="elapsed"]', { timeout: 600_000 });
  } finally {
    if (timer) clearInterval(timer);
  }
  const shown = await page.textContent('[data-testid="elapsed"]');
  const s = Number(/([\d.]+) s/.exec(shown ?? '')?.[1]);
  return Number.isFinite(s) && s > 0 ? s : (Date.now() - t) / 1000;
}
