#!/usr/bin/env node
// Entry point for `tamperscope` / `npx tamperscope`: runs the TypeScript CLI through tsx, so a fresh
// clone needs no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/main.ts');
try {
  process.exitCode = await runCli(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`tamperscope: internal error: ${e?.stack ?? e}\n`);
  process.exitCode = 70;
}
