import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium, driven by playwright-core (never `playwright install`). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  profile: string;
  close(): Promise<void>;
}

/** A fresh profile every time: no state leaks between tests unless a test reuses `profile` on purpose. */
export async function launchBrowser(opts: { profile?: string; webgpu?: boolean } = {}): Promise<Browser> {
  const profile = opts.profile ?? mkdtempSync(join(tmpdir(), 'tamperscope-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.webgpu ? ['--enable-unsafe-webgpu'] : [])],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    profile,
    close: async () => {
      await context.close();
      if (!opts.profile) rmSync(profile, { recursive: true, force: true });
    },
  };
}
