import { deflateSync } from 'fflate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleReport } from '../../../tests/fixtures/integrity/sample-report';
import { decodeShareLink, encodeShareLink, ShareLinkError } from './share-link';

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const link = (json: string) => '#r=' + b64url(deflateSync(new TextEncoder().encode(json)));
function code(input: string): string {
  try {
    decodeShareLink(input);
  } catch (e) {
    if (e instanceof ShareLinkError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('share links', () => {
  it('round-trips verdict, files, digests, findings and model counts', () => {
    const r = sampleReport();
    const { fragment, summary } = encodeShareLink(r);
    expect(fragment).toMatch(/^#r=[A-Za-z0-9_-]+$/);
    const d = decodeShareLink(`https://example.org/tamperscope/${fragment}`);
    expect(d).toEqual(summary);
    expect(d.verdict).toBe('dangerous');
    expect(d.files.map((f) => [f.name, f.sha256])).toEqual(r.files.map((f) => [f.name, f.sha256]));
    expect(d.findings.map((f) => [f.id, f.severity])).toEqual(r.findings.map((f) => [f.id, f.severity]));
    expect(d.model).toEqual({ format: 'safetensors', formatVersion: null, tensorCount: 1, parameterCount: 6, graphNodeCount: null });
    expect(d.integrity).toEqual({ mismatch: 1, match: 1 });
    expect(d.truncated).toEqual({ files: 0, findings: 0 });
  });

  it('drops the least severe findings to fit, and says how many', () => {
    const r = sampleReport(3000);
    const { fragment, summary } = encodeShareLink(r, 4000);
    expect(fragment.length).toBeLessThanOrEqual(4000);
    expect(summary.truncated.findings).toBeGreaterThan(0);
    expect(summary.findings.length + summary.truncated.findings).toBe(3000);
    expect(summary.findings[0].id).toBe('pickle/dangerous-call');
    expect(summary.files).toHaveLength(3);
    expect(decodeShareLink(fragment).truncated.findings).toBe(summary.truncated.findings);
  });

  it('rejects hostile fragments with typed errors', () => {
    const good = JSON.parse(JSON.stringify(encodeShareLink(sampleReport()).summary));
    expect(code('#x=1')).toBe('no-report');
    expect(code('#r=' + 'A'.repeat(20_000))).toBe('too-long');
    expect(code('#r=ab$c')).toBe('bad-base64');
    expect(code('#r=' + b64url(new Uint8Array([0xff, 0xff, 0xff])))).toBe('bad-deflate');
    expect(code('#r=' + b64url(deflateSync(new Uint8Array(1_000_000))))).toBe('too-large');
    expect(code(link('{"v":1,'))).toBe('bad-json');
    expect(code('#r=' + b64url(deflateSync(new Uint8Array([0xc3, 0x28]))))).toBe('bad-json');
    expect(code(link('{"v":1,"v":1}'))).toBe('bad-json');
    expect(code(link('[' .repeat(50) + ']'.repeat(50)))).toBe('bad-json');
    expect(code(link(JSON.stringify({ ...good, v: 2 })))).toBe('unsupported-version');
    expect(code(link(JSON.stringify({ ...good, verdict: 'safe' })))).toBe('bad-shape');
    expect(code(link(JSON.stringify({ ...good, files: [{ ...good.files[0], sha256: 'zz' }] })))).toBe('bad-shape');
    expect(code(link(JSON.stringify({ ...good, findings: [{ ...good.findings[0], id: '<script>' }] })))).toBe('bad-shape');
    expect(code(link(JSON.stringify({ ...good, integrity: { __proto__: 1 } })))).toBe('ok');
    expect(code(link(JSON.stringify({ ...good, integrity: { hacked: 1 } })))).toBe('bad-shape');
    expect(code(link(JSON.stringify(good)))).toBe('ok');
  });

  it('never throws anything but ShareLinkError on random input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 400 }).map((b) => '#r=' + b64url(b)), fc.uint8Array({ maxLength: 400 }).map((b) => '#r=' + b64url(deflateSync(b)))), (s) => {
        try {
          decodeShareLink(s);
        } catch (e) {
          if (!(e instanceof ShareLinkError)) throw e;
        }
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});
