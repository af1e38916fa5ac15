/**
 * Symbolic values of the pickle emulator. Plain data (no classes, no methods): a value is what a
 * loader *would* hold, described, never the live object. Containers share children by reference exactly
 * as the memo shares them in CPython, so the values of one pickle form a graph that may be exponentially
 * large when expanded and may contain cycles (a list appended to itself): every walker over values must
 * carry a visited set or an explicit depth bound. `formatValue` and `walkValues` do.
 */
export type PickleValue =
  | { kind: 'none' }
  | { kind: 'bool'; value: boolean }
  /** exact integer (|v| ≤ 2^53) */
  | { kind: 'int'; value: number }
  /** integer beyond 2^53: decimal text, or `…(N bytes)` when longer than PICKLE_MAX_LONG_BYTES */
  | { kind: 'bigint'; value: string }
  | { kind: 'float'; value: number }
  /**
   * `offset`/`byteLength` locate the encoded constant in the file. `truncated`: `value` is only a preview
   * (the constant is longer than PICKLE_MAX_INLINE_STRING, or the string budget ran out).
   */
  | { kind: 'str'; value: string; offset: number; byteLength: number; truncated: boolean }
  /**
   * bytes/bytearray constants. `data` is a view of the bytes when they were in memory (never a copy);
   * `head` always holds the first bytes (nested-payload sniffing).
   */
  | { kind: 'bytes'; offset: number; length: number; head: Uint8Array; data?: Uint8Array; bytearray?: boolean }
  | { kind: 'tuple'; items: PickleValue[] }
  | { kind: 'list'; items: PickleValue[] }
  /** entries in insertion order; a repeated key is a later entry (consumers take the last one) */
  | { kind: 'dict'; entries: [PickleValue, PickleValue][] }
  | { kind: 'set'; items: PickleValue[]; frozen: boolean }
  /** a resolved import: `ref` indexes `PickleEmulation.imports` */
  | { kind: 'global'; module: string; name: string; ref: number }
  /**
   * the result of a call-capable opcode. `ref` indexes `PickleEmulation.calls`. `state` collects BUILD
   * states, `items` APPEND(S)/ADDITEMS, `entries` SETITEM(S) applied to the result afterwards.
   */
  | {
      kind: 'call';
      op: PickleOpName;
      callee: PickleValue;
      args: PickleValue;
      kwargs?: PickleValue;
      offset: number;
      ref: number;
      state?: PickleValue[];
      items?: PickleValue[];
      entries?: [PickleValue, PickleValue][];
    }
  /** PERSID/BINPERSID: whatever the loader's persistent_load returns for `pid` */
  | { kind: 'persid'; pid: PickleValue; offset: number }
  /** EXT1/2/4: a global from copyreg's extension registry, unknown at scan time */
  | { kind: 'ext'; code: number; offset: number; ref: number }
  /** protocol 5 out-of-band buffer (NEXT_BUFFER) */
  | { kind: 'buffer'; offset: number; readonly: boolean }
  /** what a broken stream left: an empty stack, a missing memo slot, a value after a mark was lost */
  | { kind: 'missing'; reason: string; offset: number };

/** Opcode names as in CPython's pickletools. */
export type PickleOpName =
  | 'MARK' | 'STOP' | 'POP' | 'POP_MARK' | 'DUP' | 'FLOAT' | 'INT' | 'BININT' | 'BININT1' | 'LONG' | 'BININT2'
  | 'NONE' | 'PERSID' | 'BINPERSID' | 'REDUCE' | 'STRING' | 'BINSTRING' | 'SHORT_BINSTRING' | 'UNICODE'
  | 'BINUNICODE' | 'APPEND' | 'BUILD' | 'GLOBAL' | 'DICT' | 'EMPTY_DICT' | 'APPENDS' | 'GET' | 'BINGET' | 'INST'
  | 'LONG_BINGET' | 'LIST' | 'EMPTY_LIST' | 'OBJ' | 'PUT' | 'BINPUT' | 'LONG_BINPUT' | 'SETITEM' | 'TUPLE'
  | 'EMPTY_TUPLE' | 'SETITEMS' | 'BINFLOAT' | 'PROTO' | 'NEWOBJ' | 'EXT1' | 'EXT2' | 'EXT4' | 'TUPLE1' | 'TUPLE2'
  | 'TUPLE3' | 'NEWTRUE' | 'NEWFALSE' | 'LONG1' | 'LONG4' | 'BINBYTES' | 'SHORT_BINBYTES' | 'SHORT_BINUNICODE'
  | 'BINUNICODE8' | 'BINBYTES8' | 'EMPTY_SET' | 'ADDITEMS' | 'FROZENSET' | 'NEWOBJ_EX' | 'STACK_GLOBAL'
  | 'MEMOIZE' | 'FRAME' | 'BYTEARRAY8' | 'NEXT_BUFFER' | 'READONLY_BUFFER';

export const NONE: PickleValue = { kind: 'none' };

/** The string of a plain, complete `str` value, else null. */
export function strOf(v: PickleValue | undefined): string | null {
  return v && v.kind === 'str' && !v.truncated ? v.value : null;
}

/** The number of an `int` value, else null. */
export function intOf(v: PickleValue | undefined): number | null {
  return v && v.kind === 'int' ? v.value : null;
}

/** Items of a tuple or list, else null. */
export function itemsOf(v: PickleValue | undefined): PickleValue[] | null {
  return v && (v.kind === 'tuple' || v.kind === 'list') ? v.items : null;
}

/** `module.name` of a global, else null. */
export function globalName(v: PickleValue | undefined): string | null {
  return v && v.kind === 'global' ? `${v.module}.${v.name}` : null;
}

/** The entries a dict or a dict-like call result (OrderedDict(), SETITEMs applied) holds. */
export function dictEntriesOf(v: PickleValue | undefined): [PickleValue, PickleValue][] | null {
  if (!v) return null;
  if (v.kind === 'dict') return v.entries;
  if (v.kind === 'call') return v.entries ?? [];
  return null;
}

export interface FormatValueOptions {
  /** container levels shown (deeper ones print as …) */
  maxDepth?: number;
  /** items shown per container */
  maxItems?: number;
  /** characters of the whole text */
  maxChars?: number;
}

function quote(s: string, max: number): string {
  const body = s.length > max ? `${s.slice(0, max)}…` : s;
  return JSON.stringify(body).replace(/^"|"$/g, "'");
}

/**
 * A short Python-like rendering of a value (`os.system('id')`, `OrderedDict()`, `(1, 2, …)`) for
 * findings and the disassembly. Depth-, width- and length-bounded, so cycles and shared graphs print
 * in bounded time.
 */
export function formatValue(v: PickleValue, opts: FormatValueOptions = {}): string {
  const maxDepth = opts.maxDepth ?? 4;
  const maxItems = opts.maxItems ?? 6;
  const maxChars = opts.maxChars ?? 240;
  let budget = maxChars * 2;
  const go = (x: PickleValue, depth: number): string => {
    if (budget <= 0) return '…';
    const out = render(x, depth);
    budget -= out.length;
    return out;
  };
  const list = (xs: PickleValue[], depth: number): string => {
    if (depth >= maxDepth) return xs.length ? '…' : '';
    const shown = xs.slice(0, maxItems).map((x) => go(x, depth + 1));
    if (xs.length > maxItems) shown.push(`… ${xs.length - maxItems} more`);
    return shown.join(', ');
  };
  const render = (x: PickleValue, depth: number): string => {
    switch (x.kind) {
      case 'none':
        return 'None';
      case 'bool':
        return x.value ? 'True' : 'False';
      case 'int':
      case 'float':
        return String(x.value);
      case 'bigint':
        return x.value;
      case 'str':
        return quote(x.value, 80) + (x.truncated ? `…(${x.byteLength} bytes)` : '');
      case 'bytes': {
        let hex = '';
        for (const b of x.head.subarray(0, 12)) hex += `\\x${b.toString(16).padStart(2, '0')}`;
        return `${x.bytearray ? 'bytearray' : 'bytes'}(${x.length}: b'${hex}${x.length > 12 ? '…' : ''}')`;
      }
      case 'tuple':
        return x.items.length === 1 ? `(${list(x.items, depth)},)` : `(${list(x.items, depth)})`;
      case 'list':
        return `[${list(x.items, depth)}]`;
      case 'set':
        return `${x.frozen ? 'frozenset' : 'set'}({${list(x.items, depth)}})`;
      case 'dict': {
        if (depth >= maxDepth) return x.entries.length ? '{…}' : '{}';
        const shown = x.entries.slice(0, maxItems).map(([k, val]) => `${go(k, depth + 1)}: ${go(val, depth + 1)}`);
        if (x.entries.length > maxItems) shown.push(`… ${x.entries.length - maxItems} more`);
        return `{${shown.join(', ')}}`;
      }
      case 'global':
        return `${x.module}.${x.name}`;
      case 'call': {
        if (depth >= maxDepth) return '…(…)';
        const callee = go(x.callee, depth + 1);
        const args = x.args.kind === 'tuple' ? list(x.args.items, depth) : `*${go(x.args, depth + 1)}`;
        const kw = x.kwargs && x.kwargs.kind === 'dict' && x.kwargs.entries.length ? `, **${go(x.kwargs, depth + 1)}` : '';
        return `${callee}(${args}${kw})`;
      }
      case 'persid':
        return `persistent_load(${depth >= maxDepth ? '…' : go(x.pid, depth + 1)})`;
      case 'ext':
        return `<extension ${x.code}>`;
      case 'buffer':
        return '<out-of-band buffer>';
      case 'missing':
        return `<${x.reason}>`;
    }
  };
  const s = go(v, 0);
  return s.length > maxChars ? `${s.slice(0, maxChars)}…` : s;
}

/**
 * Visits every value reachable from `roots` once (by identity), children after parents, with an
 * explicit stack (no recursion) and a node budget. `visit` returns false to skip a value's children.
 * Returns false when the budget ran out.
 */
export function walkValues(roots: readonly PickleValue[], visit: (v: PickleValue) => boolean | void, maxNodes = 10_000_000): boolean {
  const seen = new Set<PickleValue>();
  const stack: PickleValue[] = [...roots].reverse();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    if (seen.size >= maxNodes) return false;
    seen.add(v);
    if (visit(v) === false) continue;
    const kids = childrenOf(v);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
  return true;
}

/** Direct children of a value, in pickle order. */
export function childrenOf(v: PickleValue): PickleValue[] {
  switch (v.kind) {
    case 'tuple':
    case 'list':
    case 'set':
      return v.items;
    case 'dict':
      return v.entries.flat();
    case 'call': {
      const out: PickleValue[] = [v.callee, v.args];
      if (v.kwargs) out.push(v.kwargs);
      if (v.state) out.push(...v.state);
      if (v.items) out.push(...v.items);
      if (v.entries) out.push(...v.entries.flat());
      return out;
    }
    case 'persid':
      return [v.pid];
    default:
      return [];
  }
}
