import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyImport } from './policy';
import { scanPickleBytes } from './scan-pickle';

const hostile = (name: string) => new Uint8Array(readFileSync(join(__dirname, '../../../../tests/fixtures/hostile/pickle', name)));

describe('classifyImport (THREATS.md §1 tiers)', () => {
  it.each([
    ['os', 'system', 'dangerous', 'os'],
    ['posix', 'system', 'dangerous', 'os'],
    ['nt', 'spawnv', 'dangerous', 'os'],
    ['__builtin__', 'eval', 'dangerous', 'builtins.eval'],
    ['builtins', 'getattr', 'dangerous', 'builtins.getattr'],
    ['subprocess', 'Popen', 'dangerous', 'subprocess'],
    ['torch._inductor.codecache', 'PyCodeCache', 'dangerous', 'torch._inductor'],
    ['numpy.f2py.f2py2e', 'run_main', 'dangerous', 'numpy.f2py'],
    ['numpy.lib.npyio', 'load', 'dangerous', 'numpy.load'],
    ['torch.serialization', 'load', 'dangerous', 'torch.load'],
    ['torch.storage', '_load_from_bytes', 'dangerous', 'torch.storage._load_from_bytes'],
    ['pathlib', 'os.system', 'dangerous', 'os'],
    ['builtins', 'eval.__call__', 'dangerous', 'dunder'],
    ['collections', 'OrderedDict.__init__.__globals__', 'dangerous', 'dunder'],
    ['_io', 'FileIO', 'dangerous', 'io.FileIO'],
    ['copy_reg', '_reconstructor', 'safe', undefined],
    ['collections', 'OrderedDict', 'safe', undefined],
    ['torch._utils', '_rebuild_tensor_v2', 'safe', undefined],
    ['torch', 'BFloat16Storage', 'safe', undefined],
    ['torch', 'bfloat16', 'safe', undefined],
    ['numpy.core.multiarray', '_reconstruct', 'safe', undefined],
    ['numpy._core.multiarray', '_reconstruct', 'safe', undefined],
    ['_codecs', 'encode', 'safe', undefined],
    ['torch.nn.modules.linear', 'Linear', 'unknown', undefined],
    ['__main__', 'Net', 'unknown', undefined],
    ['mylib', 'Thing', 'unknown', undefined],
    ['collections', 'OrderedDict.fromkeys', 'unknown', undefined],
  ])('%s + %s → %s', (module, name, tier, rule) => {
    const v = classifyImport(module, name);
    expect(v.tier).toBe(tier);
    if (rule) expect(v.rule).toBe(rule);
  });

  it('treats TorchScript classes and helpers as known only in a TorchScript archive', () => {
    expect(classifyImport('__torch__.torch.nn.modules.linear', 'Linear', { extraSafeModules: ['__torch__', 'torch.jit._pickle'] }).tier).toBe('safe');
    expect(classifyImport('torch.jit._pickle', 'build_intlist', { extraSafeModules: ['__torch__', 'torch.jit._pickle'] }).tier).toBe('safe');
    expect(classifyImport('torch.jit._pickle', 'build_intlist').tier).toBe('dangerous');
    expect(classifyImport('__torch__', 'x').tier).toBe('dangerous');
  });
});

describe('scanPickleBytes', () => {
  it('says what a loader would do, with the import, the call chain and the opcode offsets', async () => {
    const r = await scanPickleBytes(hostile('os-system.pkl'), { file: 'x.pkl' });
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    // PROTO 0-1, GLOBAL 2-12, MARK 13, BINUNICODE 14-28, TUPLE 29, REDUCE 30, STOP 31
    expect(f).toMatchObject({ id: 'pickle/dangerous-call', category: 'code-execution', severity: 'dangerous', file: 'x.pkl', offset: 30 });
    expect(f.evidence).toMatchObject({ import: 'os.system', opcode: 'GLOBAL', importOffset: 2, calls: [{ offset: 30, opcode: 'REDUCE', chain: "os.system('echo pwned')" }] });
    expect(f.detail).toContain("call it at byte 30 (REDUCE) as os.system('echo pwned')");
    expect(r.plain).toBe(false);
  });

  it('allows getattr only for a plain attribute of a known-safe object', async () => {
    const ok = await scanPickleBytes(hostile('getattr-bound-method.pkl'));
    expect(ok.findings).toEqual([]);
    const bad = await scanPickleBytes(hostile('getattr-chain.pth'));
    expect(bad.findings.map((f) => [f.id, f.title])).toEqual([
      ['pickle/dangerous-call', 'Loading calls builtins.__import__'],
      ['pickle/dangerous-call', 'Loading calls builtins.getattr on an unsafe target'],
    ]);
  });

  it('scans pickles hidden in bytes, base64 and hex constants, with offsets in the outer file', async () => {
    const bytes = hostile('nested-bytes.pkl');
    const raw = await scanPickleBytes(bytes, { baseOffset: 100 });
    const inner = raw.findings.find((f) => f.id === 'pickle/dangerous-call')!;
    // the nested pickle starts at byte 14 of the file (after a 2-byte SHORT_BINBYTES header); its REDUCE is its byte 34
    expect(inner.offset).toBe(100 + 14 + 34);
    expect(bytes[14 + 34]).toBe(0x52);
    expect(inner.evidence).toMatchObject({ nested: { depth: 1, kind: 'pickle', encoding: 'raw', constantOffset: 114 } });
    for (const name of ['nested-base64.bin', 'nested-hex']) {
      const r = await scanPickleBytes(hostile(name));
      const f = r.findings.find((x) => x.id === 'pickle/dangerous-call')!;
      expect(f.offset).toBe(16); // decoded payloads point at the constant
      expect(f.evidence).toMatchObject({ payloadOffset: 34 });
    }
  });

  it('reports a plain dict as plain (weights_only globals and opcodes only), with no finding', async () => {
    const r = await scanPickleBytes(hostile('honest-dict-of-lists.pkl'));
    expect(r.findings).toEqual([]);
    expect(r.plain).toBe(true);
    expect((await scanPickleBytes(hostile('joblib-array.pkl'))).plain).toBe(false);
  });

  it('turns bounds and structure into warnings, never into a clean pass', async () => {
    const bomb = await scanPickleBytes(hostile('expansion-bomb.pkl'));
    expect(bomb.findings.map((f) => [f.id, f.severity])).toEqual([['pickle/expansion-bomb', 'warning']]);
    const ext = await scanPickleBytes(hostile('ext-opcode.pkl'));
    expect(ext.findings.map((f) => f.id).sort()).toEqual(['pickle/ext-opcode', 'pickle/unknown-import', 'pickle/unresolved-call']);
  });
});
