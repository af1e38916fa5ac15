import type { AttributeValue } from '../model/types';

/** Values of a list attribute shown before the rest is summarised (a Constant's ints can be millions). */
export const MAX_LIST_SHOWN = 32;
/** Characters of a string attribute shown. */
export const MAX_STRING_SHOWN = 200;

function num(v: number | string): string {
  if (typeof v === 'string') return v; // int64 beyond 2^53, kept as text by the parser
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

function str(s: string): string {
  const cut = s.length > MAX_STRING_SHOWN ? s.slice(0, MAX_STRING_SHOWN) + '…' : s;
  return JSON.stringify(cut);
}

function list<T>(values: readonly T[], f: (v: T) => string): string {
  const shown = values.slice(0, MAX_LIST_SHOWN).map(f).join(', ');
  return values.length > MAX_LIST_SHOWN ? `[${shown}, … ${values.length - MAX_LIST_SHOWN} more]` : `[${shown}]`;
}

/** An attribute value as one line of text, by kind. Tensors and graphs are named; the UI links them. */
export function formatAttribute(a: AttributeValue): string {
  switch (a.kind) {
    case 'float':
    case 'int':
      return num(a.value);
    case 'string':
      return str(a.value);
    case 'floats':
    case 'ints':
      return list<number | string>(a.value, num);
    case 'strings':
      return list(a.value, str);
    case 'tensor':
      return `tensor ${a.value}`;
    case 'graph':
      return `subgraph ${a.value}`;
    case 'other':
      return a.value;
  }
}
