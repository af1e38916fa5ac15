import { describe, expect, it } from 'vitest';
import { ParseError } from './errors';
import { parseJsonStrict } from './json';
import { ByteReader } from './byte-reader';

describe('parseJsonStrict', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{"c":{}}}';
    expect(parseJsonStrict(text, 't').value).toEqual(JSON.parse(text));
  });
  it('reports duplicate keys with offsets', () => {
    const r = parseJsonStrict('{"a":1, "a":2}', 't', 100);
    expect(r.duplicates).toEqual([{ key: 'a', offset: 108 }]);
  });
  it('bounds nesting depth', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    expect(() => parseJsonStrict(deep, 't', 0, 64)).toThrowError(ParseError);
    try {
      parseJsonStrict(deep, 't', 0, 64);
    } catch (e) {
      expect((e as ParseError).code).toBe('too-deep');
    }
  });
  it('rejects trailing garbage, bad escapes and unterminated strings at their offset', () => {
    for (const [text, at] of [['{} x', 3], ['{"a":"\\q"}', 6], ['{"a":"abc', 9]] as const) {
      try {
        parseJsonStrict(text, 't');
        expect.unreachable();
      } catch (e) {
        expect((e as ParseError).offset).toBe(at);
      }
    }
  });
  it('says where numbers are written with a fraction or an exponent', () => {
    const r = parseJsonStrict('{"w":{"shape":[4.0,2],"data_offsets":[0,1.6e1]},"n":-3,"m":[[0.5]]}', 't', 8);
    expect(r.fractional).toEqual([
      { path: ['w', 'shape', 0], raw: '4.0', offset: 8 + 15 },
      { path: ['w', 'data_offsets', 1], raw: '1.6e1', offset: 8 + 40 },
      { path: ['m', 0, 0], raw: '0.5', offset: 8 + 61 },
    ]);
  });
  it('finds escapes of lone surrogates, and leaves pairs alone', () => {
    expect(parseJsonStrict('{"a":"\\ud83d\\ude00"}', 't').loneSurrogates).toEqual([]);
    expect(parseJsonStrict('{"a":"x\\ud800"}', 't', 8).loneSurrogates).toEqual([8 + 7]);
    expect(parseJsonStrict('{"a":"\\udc00y"}', 't').loneSurrogates).toEqual([6]);
    expect(parseJsonStrict('{"\\ud800\\u0041":1}', 't').loneSurrogates).toEqual([2]);
  });
});

describe('ByteReader', () => {
  it('throws at the absolute offset instead of reading past the end', () => {
    const r = new ByteReader(new Uint8Array([1, 2, 3]), 'fmt', 1000);
    expect(r.u16()).toBe(0x0201);
    try {
      r.u32();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      expect((e as ParseError).offset).toBe(1002);
      expect((e as ParseError).code).toBe('truncated');
    }
  });
  it('refuses u64 values beyond 2^53 where a safe number is needed', () => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, 1n << 60n, true);
    expect(() => new ByteReader(b, 'f').u64Safe()).toThrowError(/exceeds 2\^53/);
  });
});
