/**
 * A Jinja2 lexer for chat templates (jinja2/lexer.py, default delimiters). It only splits the text into
 * tokens so that the template scanner can look at names, attributes, strings and filters; it never
 * parses or renders anything (DESIGN.md: templates are tokenised, never rendered).
 */

export type JinjaTokenType = 'data' | 'block-begin' | 'block-end' | 'variable-begin' | 'variable-end' | 'name' | 'string' | 'number' | 'operator';

export interface JinjaToken {
  type: JinjaTokenType;
  /** decoded value for strings (escapes applied), the text otherwise */
  value: string;
  /** the source text of the token (string literals keep their quotes and escapes) */
  raw: string;
  /** character index in the template */
  pos: number;
}

export interface JinjaLexResult {
  tokens: JinjaToken[];
  /** lexing problems (unterminated tag or string, unknown character) with their character index */
  errors: { pos: number; message: string }[];
}

// Longest first, as jinja2's operator regex.
const OPERATORS = ['//', '**', '==', '!=', '>=', '<=', '+', '-', '/', '*', '%', '~', '[', ']', '(', ')', '{', '}', '>', '<', '=', '.', ':', '|', ',', ';'];

const NAME_START = /[A-Za-z_\u00c0-\uffff]/;
const NAME_PART = /[A-Za-z0-9_\u00c0-\uffff]/;

/** Python string-literal escapes as jinja2 decodes them (lexer.py uses the same rules as Python). */
function decodeString(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)/gs, (_m, e: string) => {
    switch (e[0]) {
      case 'x':
      case 'u':
      case 'U': {
        const cp = parseInt(e.slice(1), 16);
        return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'a': return '\x07';
      case '\\': return '\\';
      case "'": return "'";
      case '"': return '"';
      case 'N': return '\ufffd';
      case '\n': return '';
      default:
        if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return `\\${e}`;
    }
  });
}

/**
 * Splits `text` into data and tag tokens. `{{ }}`, `{% %}` with their `-`/`+` whitespace markers, and
 * `{# #}` comments (dropped); `{% raw %}...{% endraw %}` is data. Linear time, no backtracking.
 */
export function tokenizeJinja(text: string): JinjaLexResult {
  const tokens: JinjaToken[] = [];
  const errors: JinjaLexResult['errors'] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const open = findOpen(text, i);
    if (open < 0) {
      tokens.push({ type: 'data', value: text.slice(i), raw: text.slice(i), pos: i });
      break;
    }
    if (open > i) tokens.push({ type: 'data', value: text.slice(i, open), raw: text.slice(i, open), pos: i });
    const kind = text[open + 1];
    if (kind === '#') {
      const end = text.indexOf('#}', open + 2);
      if (end < 0) {
        errors.push({ pos: open, message: 'unterminated comment' });
        break;
      }
      i = end + 2;
      continue;
    }
    // {% raw %} ... {% endraw %}
    const rawMatch = kind === '%' ? /^\{%[-+]?\s*raw\s*[-+]?%\}/.exec(text.slice(open, open + 64)) : null;
    if (rawMatch) {
      const endRe = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
      endRe.lastIndex = open + rawMatch[0].length;
      const m = endRe.exec(text);
      if (!m) {
        errors.push({ pos: open, message: 'unterminated raw block' });
        break;
      }
      const body = text.slice(open + rawMatch[0].length, m.index);
      tokens.push({ type: 'data', value: body, raw: body, pos: open + rawMatch[0].length });
      i = m.index + m[0].length;
      continue;
    }
    const isBlock = kind === '%';
    const close = isBlock ? '%}' : '}}';
    tokens.push({ type: isBlock ? 'block-begin' : 'variable-begin', value: `{${kind}`, raw: `{${kind}`, pos: open });
    i = open + 2;
    if (text[i] === '-' || text[i] === '+') i++;
    let closed = false;
    let depth = 0;
    while (i < n) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        i++;
        continue;
      }
      // end of tag (with optional whitespace marker); `}}` closes a variable only outside brackets
      if ((c === '-' || c === '+') && text.startsWith(close, i + 1) && (isBlock || depth === 0)) {
        tokens.push({ type: isBlock ? 'block-end' : 'variable-end', value: close, raw: text.slice(i, i + 3), pos: i });
        i += 3;
        closed = true;
        break;
      }
      if (text.startsWith(close, i) && (isBlock || depth === 0)) {
        tokens.push({ type: isBlock ? 'block-end' : 'variable-end', value: close, raw: close, pos: i });
        i += 2;
        closed = true;
        break;
      }
      if (c === '"' || c === "'") {
        let j = i + 1;
        while (j < n && text[j] !== c) {
          if (text[j] === '\\') j++;
          j++;
        }
        if (j >= n) {
          errors.push({ pos: i, message: 'unterminated string literal' });
          i = n;
          break;
        }
        const raw = text.slice(i, j + 1);
        tokens.push({ type: 'string', value: decodeString(raw.slice(1, -1)), raw, pos: i });
        i = j + 1;
        continue;
      }
      if (/[0-9]/.test(c)) {
        const m = /^(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9_]+)?)/.exec(text.slice(i, i + 64))!;
        tokens.push({ type: 'number', value: m[0], raw: m[0], pos: i });
        i += m[0].length;
        continue;
      }
      if (NAME_START.test(c)) {
        let j = i + 1;
        while (j < n && NAME_PART.test(text[j])) j++;
        const name = text.slice(i, j);
        tokens.push({ type: 'name', value: name, raw: name, pos: i });
        i = j;
        continue;
      }
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op) {
        if (op === '(' || op === '[' || op === '{') depth++;
        else if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
        tokens.push({ type: 'operator', value: op, raw: op, pos: i });
        i += op.length;
        continue;
      }
      errors.push({ pos: i, message: `unexpected character ${JSON.stringify(c)}` });
      i++;
    }
    if (!closed && i >= n) {
      errors.push({ pos: open, message: `unterminated ${isBlock ? '{% %}' : '{{ }}'} tag` });
      break;
    }
  }
  return { tokens, errors };
}

/** Next `{{`, `{%` or `{#` at or after `from`, or -1. */
function findOpen(text: string, from: number): number {
  let i = text.indexOf('{', from);
  while (i >= 0 && i + 1 < text.length) {
    const c = text[i + 1];
    if (c === '{' || c === '%' || c === '#') return i;
    i = text.indexOf('{', i + 1);
  }
  return -1;
}
