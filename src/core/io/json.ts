import { ParseError } from './errors';
import { JSON_MAX_DEPTH } from './limits';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonParseResult {
  value: JsonValue;
  /** keys that appeared twice in one object: JSON.parse would silently keep the last one */
  duplicates: { key: string; offset: number }[];
  /**
   * numbers written with a fraction or an exponent (`16.0`, `1.6e1`), with where they are: JSON has one
   * number type, but readers that want integers (serde's usize) refuse them even when the value is whole
   */
  fractional: { path: (string | number)[]; raw: string; offset: number }[];
  /** offsets of `\u` escapes of a lone UTF-16 surrogate: valid JSON, but no Unicode text (serde_json refuses them) */
  loneSurrogates: number[];
}

/**
 * A strict JSON parser for untrusted headers (RFC 8259). Unlike JSON.parse it reports duplicate keys and
 * the byte offset of every error, bounds nesting depth, and never lets a `__proto__` key touch a prototype.
 * `base` is the absolute file offset of text[0]; offsets are reported in UTF-16 units from there, which
 * equal bytes for the ASCII structure of a header.
 */
export function parseJsonStrict(text: string, format: string, base = 0, maxDepth = JSON_MAX_DEPTH): JsonParseResult {
  let i = 0;
  const duplicates: { key: string; offset: number }[] = [];
  const fractional: JsonParseResult['fractional'] = [];
  const loneSurrogates: number[] = [];
  /** keys and indices from the root to the value being parsed */
  const path: (string | number)[] = [];
  const fail = (code: string, msg: string): never => {
    throw new ParseError(format, code, base + i, `${msg} at byte ${base + i} of the JSON header`);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    // caller checked the opening quote
    i++;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= text.length) fail('bad-json', 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('bad-json', 'control character in string');
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad-json', 'bad \\u escape');
            const unit = parseInt(hex, 16);
            // a high surrogate must be followed by an escaped low one, and a low one preceded by a high one
            const prev = out.charCodeAt(out.length - 1);
            if (unit >= 0xd800 && unit <= 0xdbff) {
              if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(text.slice(i + 6, i + 12))) loneSurrogates.push(base + i);
            } else if (unit >= 0xdc00 && unit <= 0xdfff && !(text.slice(i - 6, i - 4) === '\\u' && prev >= 0xd800 && prev <= 0xdbff)) {
              loneSurrogates.push(base + i);
            }
            out += String.fromCharCode(unit);
            i += 4;
            break;
          }
          default:
            fail('bad-json', 'bad escape');
        }
        i += 2;
        run = i;
        continue;
      }
      i++;
    }
  };
  const num = (): number => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('bad-json', 'bad number');
    const raw = m![0];
    if (/[.eE]/.test(raw)) fractional.push({ path: [...path], raw, offset: base + i });
    i += raw.length;
    return Number(raw);
  };
  const value = (depth: number): JsonValue => {
    if (depth > maxDepth) fail('too-deep', `nesting deeper than ${maxDepth}`);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('bad-json', 'expected a string key');
        const keyAt = base + i;
        const key = str();
        ws();
        if (text[i] !== ':') fail('bad-json', 'expected ":"');
        i++;
        path.push(key);
        const v = value(depth + 1);
        path.pop();
        if (seen.has(key)) duplicates.push({ key, offset: keyAt });
        seen.add(key);
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('bad-json', 'expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        path.push(arr.length);
        arr.push(value(depth + 1));
        path.pop();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('bad-json', 'expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === 't' && text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (c === 'f' && text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (c === 'n' && text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    if (i >= text.length) fail('bad-json', 'unexpected end');
    return fail('bad-json', `unexpected character ${JSON.stringify(c)}`);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('bad-json', 'trailing characters after the JSON value');
  return { value: v, duplicates, fractional, loneSurrogates };
}

export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
