import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser, type Browser } from './browser';
import { serveStatic, type StaticServer } from './static-server';

const ROOT = join(__dirname, '..', '..');

/**
 * The built page (dist/) served on 127.0.0.1 and one browser for the test file, started before its
 * tests and closed after them. Read `env.server` / `env.browser` inside tests.
 */
export function useBuiltPage(opts: { basePath?: string; webgpu?: boolean } = {}): { server: StaticServer; browser: Browser } {
  const env = {} as { server: StaticServer; browser: Browser };
  beforeAll(async () => {
    env.server = await serveStatic(join(ROOT, 'dist'), opts.basePath ?? '/');
    env.browser = await launchBrowser({ webgpu: opts.webgpu });
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
