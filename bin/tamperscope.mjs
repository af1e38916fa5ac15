#!/usr/bin/env node
// Entry point for `tamperscope` / `npx tamperscope`. Runs the pre-bundled CLI (dist-cli/, built by
// `npm run build:cli`, which `npm ci` runs through `prepare`) for a fast start; falls back to running
// the TypeScript sources through tsx when the bundle is missing or older than any source file, so a
// fresh clone and a working copy under edit both run the current code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist-cli', 'tamperscope.mjs');

function newestSource(dir, depth = 0) {
  let newest = 0;
  if (!existsSync(dir) || depth > 12) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p, depth + 1));
    else if (/\.(ts|json)$/.test(e.name) && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

async function load() {
  if (existsSync(bundle)) {
    const built = statSync(bundle).mtimeMs;
    if (Math.max(newestSource(join(root, 'cli')), newestSource(join(root, 'src', 'core'))) <= built) {
      return import(pathToFileURL(bundle).href);
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
}

// `tamperscope scan ... --json | head` closes the pipe early: that is not an error of ours
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  const { runCli } = await load();
  process.exitCode = await runCli(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`tamperscope: internal error: ${e?.stack ?? e}\n`);
  process.exitCode = 70;
}
