import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Report } from '../src/core/report/report';
import { assertValidReport } from '../tests/helpers/schema';
import { runCli } from './main';

const ROOT = join(__dirname, '..');
const ST = join(ROOT, 'tests/fixtures/safetensors');
const HOSTILE = join(ROOT, 'tests/fixtures/hostile/safetensors');

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

async function json(args: string[]) {
  const r = await cli([...args, '--json']);
  const report = JSON.parse(r.out) as Report;
  assertValidReport(report);
  return { ...r, report };
}

describe('tamperscope scan', () => {
  it('clean file: exit 0, schema-valid report with the file digest', async () => {
    const file = join(ST, 'clean-mlp.safetensors');
    const { code, report } = await json(['scan', file]);
    expect(code).toBe(0);
    expect(report.verdict).toBe('clean');
    expect(report.files[0].sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
  });

  it.each([
    ['overlap.safetensors', 'safetensors/overlap'],
    ['out-of-bounds.safetensors', 'safetensors/out-of-bounds'],
    ['header-2p62.safetensors', 'safetensors/header-too-large'],
    ['shape-mismatch.safetensors', 'safetensors/size-mismatch'],
  ])('malformed %s: exit 2 with %s', async (name, id) => {
    const { code, report } = await json(['scan', join(HOSTILE, name)]);
    expect(code).toBe(2);
    expect(report.verdict).toBe('error');
    expect(report.findings.map((f) => f.id)).toContain(id);
  });

  it('digest that disagrees with --expect-sha256: exit 3, integrity finding', async () => {
    const { code, report } = await json(['scan', join(ST, 'clean-mlp.safetensors'), '--expect-sha256', 'ab'.repeat(32)]);
    expect(code).toBe(3);
    expect(report.findings[0]).toMatchObject({ id: 'integrity/sha256-mismatch', category: 'integrity', severity: 'dangerous' });
    expect(report.integrity[0]).toMatchObject({ status: 'mismatch', source: 'pasted' });
  });

  it('matching --expect-sha256 and --checksums: exit 0 with integrity matches', async () => {
    const file = join(ST, 'clean-mlp.safetensors');
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    writeFileSync(join(dir, 'SHA256SUMS'), `${digest}  clean-mlp.safetensors\n`);
    const { code, report } = await json(['scan', file, '--expect-sha256', digest.toUpperCase(), '--checksums', join(dir, 'SHA256SUMS')]);
    expect(code).toBe(0);
    expect(report.integrity.map((i) => [i.source, i.status])).toEqual([
      ['pasted', 'match'],
      ['checksums', 'match'],
    ]);
    // pasted as it is often copied: with whitespace around it, or as sha256:<hex>
    for (const pasted of [`  ${digest}\n`, `sha256:${digest}`]) expect((await json(['scan', file, '--expect-sha256', pasted])).code).toBe(0);
  });

  it('a folder is one model: sharded checkpoint with its index', async () => {
    const { code, report } = await json(['scan', join(ST, 'sharded')]);
    expect(code).toBe(0);
    expect(report.files.map((f) => f.name)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect(report.model!.tensorCount).toBe(4);
  });

  it('--reference compares with a trusted model: a re-shard of the same weights is identical', async () => {
    const { code, report } = await json(['scan', join(ST, 'sharded'), '--reference', join(ST, 'clean-mlp.safetensors')]);
    expect(code).toBe(0);
    expect(report.reference!.counts).toMatchObject({ same: 4, changed: 0, added: 0, removed: 0 });
    const other = await json(['scan', join(ST, 'mixed-dtypes.safetensors'), '--reference', join(ST, 'clean-mlp.safetensors')]);
    expect(other.code).toBe(1);
    expect(other.report.findings.map((f) => f.id)).toContain('diff/architecture-drift');
  });

  it('--format md, html and sarif render the same report', async () => {
    const file = join(HOSTILE, 'overlap.safetensors');
    const md = await cli(['scan', file, '--format', 'md']);
    expect(md.code).toBe(2);
    expect(md.out).toMatch(/safetensors\/overlap/);
    const html = await cli(['scan', file, '--format', 'html']);
    expect(html.out).toMatch(/^<!doctype html>/i);
    expect(html.out).not.toMatch(/<script|<link|src=["']http/i);
    const sarif = JSON.parse((await cli(['scan', file, '--format', 'sarif'])).out);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].tool.driver.name).toBe('tamperscope');
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toContain('safetensors/overlap');
    expect(sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'safetensors/overlap').level).toBe('error');
  });

  it('model.sig in the folder is verified against --public-key', async () => {
    const INTEG = join(ROOT, 'tests/fixtures/integrity');
    const dir = mkdtempSync(join(tmpdir(), 'ts-sig-'));
    cpSync(join(INTEG, 'model'), dir, { recursive: true });
    copyFileSync(join(INTEG, 'sigs/key-p256.sig'), join(dir, 'model.sig'));
    const good = await json(['scan', dir, '--public-key', join(INTEG, 'keys/signer-p256.pub.pem')]);
    const sigResults = good.report.integrity.filter((i) => i.source === 'model.sig');
    expect(sigResults.length).toBeGreaterThanOrEqual(3);
    expect(sigResults.every((i) => i.status === 'match')).toBe(true);
    expect(good.report.findings.filter((f) => f.category === 'integrity' && f.severity !== 'info')).toEqual([]);
    const wrong = await json(['scan', dir, '--public-key', join(INTEG, 'keys/other-p256.pub.pem')]);
    expect(wrong.code).toBe(3);
    expect(wrong.report.findings.some((f) => f.category === 'integrity' && f.severity === 'dangerous')).toBe(true);
    writeFileSync(join(dir, 'config.json'), '{"tampered": true}');
    const changed = await json(['scan', dir, '--public-key', join(INTEG, 'keys/signer-p256.pub.pem')]);
    expect(changed.code).toBe(3);
    expect(changed.report.integrity.find((i) => i.file === 'config.json')).toMatchObject({ source: 'model.sig', status: 'mismatch' });
  });

  it('--probes runs the canary probes on the WASM backend in Node', async () => {
    const PROBES = join(ROOT, 'tests/fixtures/probes');
    const trapped = await json(['scan', join(PROBES, 'mlp-trapped.onnx'), '--probes']);
    expect(trapped.code).toBe(3);
    expect(trapped.report.findings.map((f) => f.id)).toContain('probe/latched-unit');
    expect((trapped.report.probes as { backend: { name: string } }).backend.name).toBe('wasm');
    const clean = await json(['scan', join(PROBES, 'mlp-clean.onnx'), '--probes']);
    expect(clean.code).toBe(0);
    expect(clean.report.probes).not.toBeNull();
    const plain = await json(['scan', join(PROBES, 'mlp-trapped.onnx')]);
    expect(plain.report.probes).toBeNull();
  });

  it('prints a readable summary without --json', async () => {
    const { code, out } = await cli(['scan', join(ST, 'mixed-dtypes.safetensors')]);
    expect(code).toBe(0);
    expect(out).toMatch(/^CLEAN/);
    expect(out).toMatch(/tensors\s+8/);
    expect(out).toMatch(/float16\s+80/);
  });

  it.each([
    [[], /missing command/],
    [['frobnicate'], /unknown command/],
    [['scan'], /at least one PATH/],
    [['scan', 'x', '--expect-sha256', 'abc'], /64 hex digits/],
    [['scan', 'x', '--format', 'pdf'], /--format must be one of/],
    [['scan', 'x', '--bogus'], /unknown option/],
    [['scan', '/nonexistent/model.bin'], /cannot read/],
    [['scan', join(ST, 'clean-mlp.safetensors'), '--checksums', '/nonexistent'], /cannot read --checksums/],
    [['scan', join(ST, 'clean-mlp.safetensors'), '--public-key', join(ST, 'expected.json')], /not a PEM public key/],
  ])('usage error %j exits 64', async (args, msg) => {
    const { code, err } = await cli(args as string[]);
    expect(code).toBe(64);
    expect(err).toMatch(msg);
  });
});

describe('npx tamperscope (real process)', () => {
  it('runs through the bin entry with the contract exit codes', async () => {
    const run = promisify(execFile);
    const ok = await run('node', [join(ROOT, 'bin/tamperscope.mjs'), 'scan', join(ST, 'clean-mlp.safetensors'), '--json']);
    expect(JSON.parse(ok.stdout).verdict).toBe('clean');
    const bad = await run('node', [join(ROOT, 'bin/tamperscope.mjs'), 'scan', join(HOSTILE, 'overlap.safetensors')]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^ERROR/);
  });
});
