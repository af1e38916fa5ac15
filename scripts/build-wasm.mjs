// Compiles the WebAssembly text sources to the TypeScript modules that carry their bytes (base64), so the
// page and the CLI need no loader, fetch or build plugin: `npm run build:wasm`. The generated files are
// committed; src/core/stats/stats-kernel.test.ts fails when one no longer matches its source.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const SOURCES = [{ wat: 'src/core/stats/stats-kernel.wat', out: 'src/core/stats/stats-kernel-wasm.ts', name: 'STATS_KERNEL_WASM' }];

const root = fileURLToPath(new URL('..', import.meta.url));

/** The TypeScript module text for one WebAssembly text source. */
export async function compiled(source) {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(source.wat, readFileSync(root + source.wat, 'utf8'), { simd: true });
  mod.validate();
  const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
  mod.destroy();
  const b64 = Buffer.from(buffer).toString('base64');
  const lines = b64.match(/.{1,100}/g).map((l) => `  '${l}' +`).join('\n');
  return `// Generated from ${source.wat} by \`npm run build:wasm\` (wabt); do not edit.\n` +
    `export const ${source.name} =\n${lines.slice(0, -2)};\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const s of SOURCES) {
    writeFileSync(root + s.out, await compiled(s));
    console.log(`${s.out}: from ${s.wat}`);
  }
}
