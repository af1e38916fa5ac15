import type { ByteSource } from '../../io/byte-source';
import { throwIfAborted } from '../../io/errors';
import {
  PICKLE_EXPANSION_MIN,
  PICKLE_EXPANSION_RATIO,
  PICKLE_MAX_INLINE_STRING,
  PICKLE_MAX_LINE,
  PICKLE_MAX_LONG_BYTES,
  PICKLE_MAX_MARK_DEPTH,
  PICKLE_MAX_MEMO,
  PICKLE_MAX_NESTING,
  PICKLE_MAX_OPCODES,
  PICKLE_MAX_PICKLES,
  PICKLE_MAX_RECORDS,
  PICKLE_MAX_RESYNC_SCAN,
  PICKLE_MAX_STACK,
  PICKLE_MAX_STRING_BYTES,
  PICKLE_STRING_PREVIEW,
  PICKLE_WINDOW,
} from '../../io/limits';
import { OP_NAMES, PICKLE_HIGHEST_PROTOCOL, PICKLE_OPS } from './opcodes';
import { childrenOf, formatValue, NONE, strOf, type PickleOpName, type PickleValue } from './value';

/**
 * Symbolic pickle machine (THREATS.md §1). It runs every opcode of protocols 0–5 against a real stack,
 * mark stack (CPython's metastack) and memo, but never imports or calls anything: imports become
 * `global` values and calls become `call` values, and both are recorded with their opcode offsets.
 *
 * Robustness rules: a broken stream (invalid opcode, truncation, no STOP) ends that pickle with an
 * anomaly and everything seen so far stays reported; bytes after STOP are emulated as further pickles;
 * after a break the rest of the bytes is searched for another pickle (a payload hidden behind a
 * deliberately broken stream). Every resource is bounded by a named limit in io/limits.ts, and a limit
 * that is hit is itself an anomaly (never a silent pass).
 *
 * The machine is resumable: it runs over a window of the file and, when an opcode needs bytes beyond
 * the window, returns the offset to continue from, so a pickle of any size is emulated with bounded
 * memory (`emulatePickleSource`). `emulatePickle` is the in-memory special case (one window, the whole
 * buffer).
 */

/** Where in the file a pickle sits relative to what a loader would read. */
export type PickleRegion =
  /** the stream a loader reads (the first pickle, and every pickle of a multi-pickle layout) */
  | 'stream'
  /** after the last STOP a plain `pickle.load` would stop at */
  | 'after-stop'
  /** found by searching past a broken stream: no loader reaches it through this stream */
  | 'after-break'
  /** a pickle joblib stores inline for an object-dtype NumPy array (joblib's loader runs it) */
  | 'joblib-object-array';

export type PickleAnomalyCode =
  | 'invalid-opcode'
  | 'truncated'
  | 'no-stop'
  | 'stack-underflow'
  | 'mark-missing'
  | 'missing-memo'
  | 'bad-protocol'
  | 'proto-repeated'
  | 'frame-mismatch'
  | 'ext-opcode'
  | 'bad-operand'
  | 'bad-call-args'
  | 'build-on-global'
  | 'setitem-on-global'
  | 'append-on-global'
  | 'out-of-band-buffer'
  | 'trailing-data'
  | 'limit-exceeded'
  | 'expansion-bomb'
  | 'joblib-array';

export interface PickleAnomaly {
  code: PickleAnomalyCode;
  /** absolute file offset */
  offset: number;
  message: string;
  /** index of the pickle (PickleEmulation.pickles) it belongs to */
  pickle: number;
  region: PickleRegion;
}

export type PickleImportOp = 'GLOBAL' | 'STACK_GLOBAL' | 'INST' | 'EXT1' | 'EXT2' | 'EXT4';

export interface PickleImport {
  module: string;
  name: string;
  /** absolute offset of the import opcode */
  offset: number;
  op: PickleImportOp;
  pickle: number;
  region: PickleRegion;
  /**
   * false when STACK_GLOBAL's operands were not plain string constants (a computed object, a missing
   * memo slot, another import's result): the loader imports something decided at load time.
   */
  plain: boolean;
  /** for STACK_GLOBAL: offsets of the string constants it used (memo indirection shows here) */
  operandOffsets?: number[];
}

export interface PickleCallRecord {
  /** absolute offset of the call opcode */
  offset: number;
  op: PickleOpName;
  pickle: number;
  region: PickleRegion;
  /** the call value: callee, args, kwargs */
  value: Extract<PickleValue, { kind: 'call' }>;
}

/** A bytes/str constant that looks like (or decodes to) another file format: scanned recursively. */
export interface NestedCandidate {
  kind: 'pickle' | 'zip' | 'npy';
  /** how the constant's content maps to the payload */
  encoding: 'raw' | 'latin1' | 'base64' | 'hex';
  value: Extract<PickleValue, { kind: 'bytes' | 'str' }>;
  pickle: number;
  region: PickleRegion;
}

export interface PickleRecord {
  index: number;
  /** absolute offsets: first byte, and one past STOP (or where the stream broke) */
  start: number;
  end: number;
  /** protocol from PROTO, or null (protocol 0/1 streams have none) */
  protocol: number | null;
  /** ended at STOP */
  stopped: boolean;
  region: PickleRegion;
  /** what STOP returned (null when the stream broke before STOP) */
  value: PickleValue | null;
  opcodes: number;
  /** expanded tree size of `value` (saturated) and its depth */
  expandedSize: number;
  depth: number;
}

export interface PickleEmulation {
  pickles: PickleRecord[];
  imports: PickleImport[];
  calls: PickleCallRecord[];
  anomalies: PickleAnomaly[];
  persistentIds: { offset: number; pid: PickleValue; pickle: number; region: PickleRegion }[];
  nested: NestedCandidate[];
  /** opcode names executed (for the weights_only-style "plain" check) */
  opcodesUsed: PickleOpName[];
  opcodeCount: number;
  /** imports or calls past PICKLE_MAX_RECORDS that were counted but not kept */
  droppedRecords: number;
  /** a hard limit stopped the emulation early: what follows was not scanned */
  limitHit: boolean;
  /** absolute offset where emulation stopped (one past the last pickle's STOP when it ended cleanly) */
  end: number;
}

export interface EmulateOptions {
  /** absolute file offset of the first byte */
  baseOffset?: number;
  /**
   * pickles that follow each other as one stream (legacy PyTorch writes five; default 1). Bytes after
   * them are trailing data: emulated and searched when `scanTrailing`, else left alone (raw storages).
   */
  maxPickles?: number;
  /** emulate or search the bytes after the stream's last STOP and after a break (default true) */
  scanTrailing?: boolean;
  /** region of the first pickle (nested scans pass their own) */
  region?: PickleRegion;
  signal?: AbortSignal;
}

interface MachineState {
  index: number;
  start: number;
  region: PickleRegion;
  stack: PickleValue[];
  meta: PickleValue[][];
  metaSum: number;
  memo: Map<number, PickleValue>;
  proto: number | null;
  frameEnd: number;
  opcodes: number;
}

interface JoblibSkip {
  padding: boolean;
  bytes: number;
}

type StepResult = { need: number } | { done: true };

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

const CONTAINER_OPS = new Set(['tuple', 'list', 'dict', 'set', 'call']);

/** Identifier-ish line bytes of a protocol-0 GLOBAL/INST: letters, digits, `_`, `.` */
function isNameByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2e;
}

/** Kind of payload `head` starts with, or null: pickle (PROTO 2..5 or a protocol-0 GLOBAL), zip, npy. */
export function sniffPayloadMagic(head: ArrayLike<number>): NestedCandidate['kind'] | null {
  const n = head.length;
  if (n >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= PICKLE_HIGHEST_PROTOCOL) return 'pickle';
  if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (n >= 6 && head[0] === 0x93 && head[1] === 0x4e && head[2] === 0x55 && head[3] === 0x4d && head[4] === 0x50 && head[5] === 0x59) return 'npy';
  // protocol 0/1: `c<module>\n<name>\n` (GLOBAL) or `(i<module>\n` / `(c<module>\n` right after a MARK
  let i = 0;
  if (n > 1 && head[0] === 0x28 && (head[1] === 0x63 || head[1] === 0x69)) i = 1;
  if (n > i + 2 && head[i] === 0x63 + (i === 1 && head[1] === 0x69 ? 6 : 0)) {
    let j = i + 1;
    while (j < n && isNameByte(head[j])) j++;
    if (j > i + 1 && j < n && head[j] === 0x0a) return 'pickle';
  }
  return null;
}

const B64 = (() => {
  const t = new Int16Array(256).fill(-1);
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[a.charCodeAt(i)] = i;
  t[0x2d] = 62; // url-safe alphabet
  t[0x5f] = 63;
  return t;
})();

/** Decodes base64 (standard or url-safe, whitespace ignored) up to `max` output bytes; null if not base64. */
export function decodeBase64(s: string, max = Infinity): Uint8Array | null {
  const out = new Uint8Array(Math.min(Math.floor((s.length * 3) / 4) + 3, max === Infinity ? s.length : max));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length && n < out.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d) break;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    const v = c < 256 ? B64[c] : -1;
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** Decodes hex (whitespace ignored) up to `max` bytes; null if not hex. */
export function decodeHex(s: string, max = Infinity): Uint8Array | null {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean.slice(0, Math.min(clean.length, 2 * (max === Infinity ? clean.length : max))))) return null;
  const n = Math.min(clean.length / 2, max);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
  return out;
}

/** Cheap test of a text constant for an encoded payload: only the first characters are decoded. */
function sniffEncodedString(s: string): { kind: NestedCandidate['kind']; encoding: NestedCandidate['encoding'] } | null {
  if (s.length < 8) return null;
  const c0 = s.charCodeAt(0);
  if (c0 === 0x80 || c0 === 0x93 || c0 === 0x50 || c0 === 0x63 || c0 === 0x28) {
    // a str holding latin-1 code points (how protocol-2 pickles carry bytes through _codecs.encode)
    const head: number[] = [];
    for (let i = 0; i < Math.min(s.length, 64); i++) head.push(s.charCodeAt(i));
    const kind = head.every((x) => x < 256) ? sniffPayloadMagic(head) : null;
    if (kind) return { kind, encoding: 'latin1' };
  }
  if (s.length >= 12) {
    const b = decodeBase64(s.slice(0, 64).replace(/=.*$/s, ''), 48);
    const kind = b && b.length >= 2 ? sniffPayloadMagic(b) : null;
    if (kind) return { kind, encoding: 'base64' };
    const h = /^[0-9a-fA-F]{8}/.test(s) ? decodeHex(s.slice(0, 64).replace(/[^0-9a-fA-F].*$/s, '').replace(/^(.*?)(.?)$/s, (m, a, b) => ((a.length + b.length) % 2 ? a : m)), 32) : null;
    const hk = h ? sniffPayloadMagic(h) : null;
    if (hk) return { kind: hk, encoding: 'hex' };
  }
  return null;
}

/** Python's string escapes for STRING (a repr) and UNICODE (raw-unicode-escape). */
function unescapePython(s: string, raw: boolean): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (m, e: string) => {
    const c = e[0];
    if (c === 'u' || c === 'U') return String.fromCodePoint(Math.min(parseInt(e.slice(1), 16), 0x10ffff));
    if (raw) return m;
    if (c === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (c >= '0' && c <= '7') return String.fromCharCode(parseInt(e, 8) & 0xff);
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
    return map[c] ?? m;
  });
}

/** Little-endian two's-complement integer of LONG1/LONG4. */
function decodeLong(b: Uint8Array): PickleValue {
  const n = b.length;
  if (n === 0) return { kind: 'int', value: 0 };
  if (n > PICKLE_MAX_LONG_BYTES) return { kind: 'bigint', value: `…(${n}-byte integer)` };
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return intValue(v);
}

function intValue(v: bigint): PickleValue {
  if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'int', value: Number(v) };
  return { kind: 'bigint', value: v.toString() };
}

function parseIntText(t: string): PickleValue | null {
  const s = t.trim().replace(/[lL]$/, '');
  if (!/^[+-]?\d+$/.test(s)) return null;
  if (s.replace(/^[+-]/, '').length > PICKLE_MAX_LONG_BYTES * 3) return { kind: 'bigint', value: `…(${s.length}-digit integer)` };
  return intValue(BigInt(s));
}

/** Which joblib wrapper classes are followed by raw array bytes in the stream (joblib/numpy_pickle.py). */
function isJoblibWrapper(v: PickleValue): boolean {
  return v.kind === 'global' && v.name === 'NumpyArrayWrapper' && /(^|\.)joblib\.numpy_pickle$/.test(v.module);
}

/**
 * Byte size of one element of a NumPy dtype built by `numpy.dtype(typestr, ...)` + BUILD state, or
 * 'object', or null when it cannot be told. The state tuple's 6th field is `elsize` for flexible types.
 */
function numpyItemsize(dt: PickleValue | undefined): number | 'object' | null {
  if (!dt || dt.kind !== 'call') return null;
  const args = dt.args.kind === 'tuple' ? dt.args.items : [];
  const typestr = strOf(args[0]);
  if (typestr === null) return null;
  const m = /^[<>|=]?([a-zA-Z?])(\d*)$/.exec(typestr);
  const st = dt.state?.[dt.state.length - 1];
  const elsize = st && st.kind === 'tuple' && st.items[5]?.kind === 'int' ? st.items[5].value : -1;
  if (m && m[1] === 'O') return 'object';
  if (elsize > 0) return elsize;
  if (m) {
    const n = m[2] ? Number(m[2]) : 0;
    const kind = m[1];
    if (kind === 'U') return n * 4;
    if (n > 0) return n;
    const fixed: Record<string, number> = { '?': 1, b: 1, B: 1, h: 2, H: 2, i: 4, I: 4, l: 8, L: 8, q: 8, Q: 8, e: 2, f: 4, d: 8, g: 16, F: 8, D: 16, G: 32 };
    return fixed[kind] ?? null;
  }
  const bits = /(\d+)$/.exec(typestr);
  return bits ? Number(bits[1]) / 8 : null;
}

/**
 * The resumable machine. Internal: callers use `emulatePickle` / `emulatePickleSource`.
 */
class PickleMachine {
  readonly out: PickleEmulation;
  private readonly opts: { streamPickles: number; scanTrailing: boolean; region: PickleRegion };
  private readonly limitEnd: number;
  private readonly usedOps = new Uint8Array(256);
  private pos: number;
  private state: MachineState | null = null;
  /** outer pickles suspended while a joblib object-array pickle runs */
  private suspended: MachineState[] = [];
  private phase: 'start' | 'run' | 'between' | 'resync' | 'done' = 'start';
  private nextRegion: PickleRegion;
  private resyncFrom = 0;
  private stringBytes = 0;
  private pendingJoblib: JoblibSkip | null = null;
  private seenKeys = new Set<string>();
  private limitNoted = new Set<string>();
  private trailingNoted = false;

  constructor(start: number, end: number, opts: EmulateOptions) {
    this.pos = start;
    this.limitEnd = end;
    this.opts = {
      streamPickles: Math.max(1, Math.min(opts.maxPickles ?? 1, PICKLE_MAX_PICKLES)),
      scanTrailing: opts.scanTrailing ?? true,
      region: opts.region ?? 'stream',
    };
    this.nextRegion = this.opts.region;
    this.out = {
      pickles: [],
      imports: [],
      calls: [],
      anomalies: [],
      persistentIds: [],
      nested: [],
      opcodesUsed: [],
      opcodeCount: 0,
      droppedRecords: 0,
      limitHit: false,
      end: start,
    };
  }

  get position(): number {
    return this.pos;
  }
  get finished(): boolean {
    return this.phase === 'done';
  }

  finish(): PickleEmulation {
    if (this.phase !== 'done') this.stopAll(this.pos);
    this.out.opcodesUsed = [];
    for (let i = 0; i < 256; i++) if (this.usedOps[i]) this.out.opcodesUsed.push(OP_NAMES[i]!);
    return this.out;
  }

  // ---- records ----

  private anomaly(code: PickleAnomalyCode, offset: number, message: string): void {
    const st = this.state;
    const region = st?.region ?? this.nextRegion;
    // Past a break or the last STOP, garbage is expected: only what it imports or calls is worth showing.
    if ((region === 'after-break' || region === 'after-stop') && code !== 'limit-exceeded' && code !== 'expansion-bomb') return;
    if (this.out.anomalies.length >= PICKLE_MAX_RECORDS) {
      this.out.droppedRecords++;
      return;
    }
    this.out.anomalies.push({ code, offset, message, pickle: st?.index ?? this.out.pickles.length, region });
  }

  private limit(what: string, offset: number, message: string, fatal: boolean): void {
    if (!this.limitNoted.has(what)) {
      this.limitNoted.add(what);
      this.anomaly('limit-exceeded', offset, message);
    }
    if (fatal) {
      this.out.limitHit = true;
      this.stopAll(offset);
    }
  }

  private recordImport(module: string, name: string, offset: number, op: PickleImportOp, plain: boolean, operandOffsets?: number[]): PickleValue {
    const st = this.state!;
    const key = `${module}\u0000${name}`;
    let ref = -1;
    if (this.out.imports.length < PICKLE_MAX_RECORDS || (!this.seenKeys.has(key) && this.out.imports.length < 2 * PICKLE_MAX_RECORDS)) {
      ref = this.out.imports.length;
      this.out.imports.push({ module, name, offset, op, pickle: st.index, region: st.region, plain, operandOffsets });
    } else this.out.droppedRecords++;
    this.seenKeys.add(key);
    return { kind: 'global', module, name, ref };
  }

  private recordCall(op: PickleOpName, callee: PickleValue, args: PickleValue, offset: number, kwargs?: PickleValue): Extract<PickleValue, { kind: 'call' }> {
    const st = this.state!;
    const v: Extract<PickleValue, { kind: 'call' }> = { kind: 'call', op, callee, args, offset, ref: -1 };
    if (kwargs) v.kwargs = kwargs;
    if (this.out.calls.length < PICKLE_MAX_RECORDS) {
      v.ref = this.out.calls.length;
      this.out.calls.push({ offset, op, pickle: st.index, region: st.region, value: v });
    } else this.out.droppedRecords++;
    return v;
  }

  private noteNested(v: Extract<PickleValue, { kind: 'bytes' | 'str' }>): void {
    const st = this.state!;
    if (this.out.nested.length >= PICKLE_MAX_RECORDS) return;
    if (v.kind === 'bytes') {
      const kind = sniffPayloadMagic(v.head);
      if (kind) this.out.nested.push({ kind, encoding: 'raw', value: v, pickle: st.index, region: st.region });
      else if (v.head.length >= 12 && v.data) {
        // bytes holding base64 or hex text of a payload
        const text = latin1.decode(v.data.subarray(0, Math.min(v.data.length, 64)));
        const enc = sniffEncodedString(text);
        if (enc && enc.encoding !== 'latin1') this.out.nested.push({ kind: enc.kind, encoding: enc.encoding, value: v, pickle: st.index, region: st.region });
      }
      return;
    }
    const enc = sniffEncodedString(v.value);
    if (enc) this.out.nested.push({ kind: enc.kind, encoding: enc.encoding, value: v, pickle: st.index, region: st.region });
  }

  // ---- pickle lifecycle ----

  private beginPickle(at: number, region: PickleRegion): void {
    this.state = {
      index: this.out.pickles.length,
      start: at,
      region,
      stack: [],
      meta: [],
      metaSum: 0,
      memo: new Map(),
      proto: null,
      frameEnd: -1,
      opcodes: 0,
    };
    this.out.pickles.push({ index: this.state.index, start: at, end: at, protocol: null, stopped: false, region, value: null, opcodes: 0, expandedSize: 0, depth: 0 });
    this.phase = 'run';
  }

  /** Closes the current pickle; `value` is STOP's result, or null for a broken stream. */
  private endPickle(end: number, value: PickleValue | null): void {
    const st = this.state!;
    const rec = this.out.pickles[st.index];
    rec.end = end;
    rec.stopped = value !== null;
    rec.value = value;
    rec.protocol = st.proto;
    rec.opcodes = st.opcodes;
    if (value && CONTAINER_OPS.has(value.kind)) {
      const bytes = Math.max(1, end - st.start);
      const cap = Math.max(PICKLE_EXPANSION_MIN, PICKLE_EXPANSION_RATIO * bytes) * 2;
      const m = measureValue(value, cap);
      rec.expandedSize = m.size;
      rec.depth = m.depth;
      if (m.size > PICKLE_EXPANSION_MIN && m.size > PICKLE_EXPANSION_RATIO * bytes) {
        this.anomaly(
          'expansion-bomb',
          st.start,
          `the ${bytes}-byte pickle describes a structure of ${m.size >= cap ? `more than ${cap}` : m.size} nodes through shared references (over ${PICKLE_EXPANSION_RATIO}× its size): a loader or a tool that copies it would exhaust memory; it was measured, never built`,
        );
      }
      if (m.depth > PICKLE_MAX_NESTING) {
        this.limit('nesting', st.start, `values nest ${m.depth} levels deep, over the ${PICKLE_MAX_NESTING}-level limit; tools that walk them recursively crash`, false);
      }
    } else {
      rec.expandedSize = 1;
      rec.depth = 1;
    }
    this.out.end = end;
    const outer = this.suspended.pop();
    if (outer && value !== null) {
      // joblib: the object-array pickle ended, the outer pickle goes on right after it
      this.state = outer;
      this.phase = 'run';
      return;
    }
    if (outer) this.suspended.length = 0;
    this.state = null;
    this.phase = value !== null ? 'between' : 'resync';
    this.resyncFrom = end;
  }

  private stopAll(at: number): void {
    while (this.state) {
      const rec = this.out.pickles[this.state.index];
      if (!rec.stopped && rec.end === rec.start) {
        rec.end = at;
        rec.protocol = this.state.proto;
        rec.opcodes = this.state.opcodes;
      }
      this.state = this.suspended.pop() ?? null;
    }
    this.suspended.length = 0;
    this.phase = 'done';
  }

  // ---- the run loop ----

  /**
   * Runs over `win` (bytes at absolute offset `winBase`; `eof`: nothing follows it up to the end of the
   * emulated range). Returns `{need: offset}` to be called again with a window starting at `offset`.
   */
  run(win: Uint8Array, winBase: number, eof: boolean, signal?: AbortSignal): StepResult {
    const winEnd = winBase + win.length;
    let guard = 0;
    while (this.phase !== 'done') {
      if (++guard % 65536 === 0) throwIfAborted(signal);
      if (this.pos < winBase) return { need: this.pos };
      if (this.phase === 'start') {
        if (this.pos >= this.limitEnd) {
          this.phase = 'done';
          break;
        }
        this.beginPickle(this.pos, this.nextRegion);
        continue;
      }
      if (this.phase === 'between') {
        const inStream = this.out.pickles.length < this.opts.streamPickles;
        if (this.out.pickles.length >= PICKLE_MAX_PICKLES || this.pos >= this.limitEnd || (!inStream && !this.opts.scanTrailing)) {
          this.phase = 'done';
          break;
        }
        if (this.pos >= winEnd) {
          if (eof) {
            this.phase = 'done';
            break;
          }
          return { need: this.pos };
        }
        if (inStream) {
          // a layout of several pickles back to back (legacy PyTorch): the next one is part of the stream
          this.beginPickle(this.pos, this.opts.region);
          continue;
        }
        if (!this.trailingNoted) {
          this.trailingNoted = true;
          const prevRegion = this.nextRegion;
          this.nextRegion = 'stream';
          this.state = null;
          this.anomalyAt('trailing-data', this.pos, `${this.limitEnd - this.pos} bytes follow the STOP at byte ${this.pos - 1}; a plain pickle.load ignores them, another loader may not. They were emulated as further pickles.`, prevRegion);
        }
        this.beginPickle(this.pos, this.opts.region === 'stream' ? 'after-stop' : this.opts.region);
        continue;
      }
      if (this.phase === 'resync') {
        if (!this.opts.scanTrailing || this.out.pickles.length >= PICKLE_MAX_PICKLES) {
          this.phase = 'done';
          break;
        }
        const r = this.resync(win, winBase, eof);
        if (r) return r;
        continue;
      }
      const r = this.step(win, winBase, eof);
      if (r) return r;
    }
    return { done: true };
  }

  private anomalyAt(code: PickleAnomalyCode, offset: number, message: string, region: PickleRegion): void {
    this.out.anomalies.push({ code, offset, message, pickle: this.out.pickles.length, region });
  }

  /** Searches for the next plausible pickle start after a break. */
  private resync(win: Uint8Array, winBase: number, eof: boolean): StepResult | null {
    const startIdx = Math.max(this.pos, this.resyncFrom) - winBase;
    const hardEnd = Math.min(this.limitEnd, this.resyncFrom + PICKLE_MAX_RESYNC_SCAN);
    const last = Math.min(win.length, hardEnd - winBase);
    for (let i = Math.max(0, startIdx); i < last; i++) {
      const b = win[i];
      if (b !== 0x80 && b !== 0x63 && b !== 0x28) continue;
      const head = win.subarray(i, Math.min(win.length, i + 256));
      if (head.length < 256 && !eof && winBase + i + head.length < this.limitEnd) return { need: winBase + i };
      if (sniffPayloadMagic(head) === 'pickle') {
        this.pos = winBase + i;
        this.beginPickle(this.pos, 'after-break');
        return null;
      }
    }
    if (winBase + last >= hardEnd || eof) {
      this.phase = 'done';
      return null;
    }
    this.resyncFrom = winBase + last;
    this.pos = winBase + last;
    return { need: this.pos };
  }

  private pop(st: MachineState, at: number): PickleValue {
    const v = st.stack.pop();
    if (v !== undefined) return v;
    this.anomaly('stack-underflow', at, `stack underflow at byte ${at}: the opcode needs a value but the stack is empty; CPython stops here`);
    return { kind: 'missing', reason: 'empty stack', offset: at };
  }

  private popMark(st: MachineState, at: number, op: string): PickleValue[] {
    const items = st.stack;
    const prev = st.meta.pop();
    if (prev === undefined) {
      this.anomaly('mark-missing', at, `${op} at byte ${at} needs a MARK but none is open; CPython stops here`);
      st.stack = [];
      return items;
    }
    st.metaSum -= prev.length;
    st.stack = prev;
    return items;
  }

  private top(st: MachineState, at: number, op: string): PickleValue {
    const v = st.stack[st.stack.length - 1];
    if (v !== undefined) return v;
    this.anomaly('stack-underflow', at, `${op} at byte ${at} needs a value on the stack but it is empty`);
    return { kind: 'missing', reason: 'empty stack', offset: at };
  }

  private makeStr(win: Uint8Array, i: number, n: number, abs: number, enc: 'utf8' | 'latin1'): Extract<PickleValue, { kind: 'str' }> {
    const avail = Math.min(n, win.length - i);
    let value: string;
    let truncated = false;
    if (n > PICKLE_MAX_INLINE_STRING || this.stringBytes + n > PICKLE_MAX_STRING_BYTES || avail < n) {
      if (n <= PICKLE_MAX_INLINE_STRING && this.stringBytes + n > PICKLE_MAX_STRING_BYTES) {
        this.limit('strings', abs, `string constants total over ${PICKLE_MAX_STRING_BYTES} bytes; later strings keep a ${PICKLE_STRING_PREVIEW}-character preview only`, false);
      }
      const cut = win.subarray(i, i + Math.min(avail, PICKLE_STRING_PREVIEW * 4));
      value = (enc === 'utf8' ? utf8 : latin1).decode(cut).slice(0, PICKLE_STRING_PREVIEW);
      truncated = true;
    } else {
      this.stringBytes += n;
      if (n <= 32) {
        let ascii = true;
        for (let k = i; k < i + n; k++) if (win[k] >= 0x80) ascii = false;
        value = ascii || enc === 'latin1' ? String.fromCharCode.apply(null, win.subarray(i, i + n) as unknown as number[]) : utf8.decode(win.subarray(i, i + n));
      } else value = (enc === 'utf8' ? utf8 : latin1).decode(win.subarray(i, i + n));
    }
    return { kind: 'str', value, offset: abs, byteLength: n, truncated };
  }

  /** Pushes with the stack bound; returns false when the bound stopped everything. */
  private push(st: MachineState, v: PickleValue, at: number): boolean {
    st.stack.push(v);
    if (st.stack.length + st.metaSum > PICKLE_MAX_STACK) {
      this.limit('stack', at, `the stack holds over ${PICKLE_MAX_STACK} values; emulation stopped here and the rest was not scanned`, true);
      return false;
    }
    return true;
  }

  private memoPut(st: MachineState, idx: number, v: PickleValue, at: number): void {
    if (!st.memo.has(idx) && st.memo.size >= PICKLE_MAX_MEMO) {
      this.limit('memo', at, `the memo holds over ${PICKLE_MAX_MEMO} slots; emulation stopped here and the rest was not scanned`, true);
      return;
    }
    st.memo.set(idx, v);
  }

  private memoGet(st: MachineState, idx: number, at: number): PickleValue {
    const v = st.memo.get(idx);
    if (v !== undefined) return v;
    this.anomaly('missing-memo', at, `GET of memo slot ${idx} at byte ${at}, which was never PUT; CPython stops here`);
    return { kind: 'missing', reason: `memo slot ${idx} empty`, offset: at };
  }

  private lastWin: Uint8Array | null = null;
  private lastView: DataView | null = null;
  private viewOf(win: Uint8Array): DataView {
    if (this.lastWin !== win) {
      this.lastWin = win;
      this.lastView = new DataView(win.buffer, win.byteOffset, win.byteLength);
    }
    return this.lastView!;
  }

  /** The opcode at `at` needs bytes past `winEnd`: ask for more, or report the truncation at the end. */
  private short(at: number, winEnd: number, atEnd: boolean): StepResult | null {
    if (!atEnd) return { need: at };
    this.anomaly('truncated', at, `the stream ends at byte ${winEnd} inside the opcode at byte ${at}; CPython stops here (everything before it is reported)`);
    this.endPickle(winEnd, null);
    this.phase = 'done';
    return null;
  }

  /**
   * Executes one opcode (or finishes a pending joblib skip). Returns a need-more result when the
   * opcode's bytes run past a window that is not the end, null otherwise.
   */
  private step(win: Uint8Array, winBase: number, eof: boolean): StepResult | null {
    const st = this.state!;
    const at = this.pos;
    const i = at - winBase;
    const avail = win.length - i;
    const atEnd = eof || winBase + win.length >= this.limitEnd;

    if (this.pendingJoblib) {
      const pj = this.pendingJoblib;
      if (pj.padding) {
        if (1 > avail) return this.short(at, winBase + win.length, atEnd);
        this.pos = at + 1 + win[i];
        pj.padding = false;
      }
      this.pendingJoblib = null;
      const end = this.pos + pj.bytes;
      if (end > this.limitEnd) {
        this.anomaly('joblib-array', this.pos, `a joblib array of ${pj.bytes} bytes starts at byte ${this.pos} but the data ends at byte ${this.limitEnd}`);
        this.endPickle(this.limitEnd, null);
        this.phase = 'done';
        return null;
      }
      this.pos = end;
      return null;
    }

    if (avail <= 0) return this.short(at, winBase + win.length, atEnd);
    if (this.out.opcodeCount >= PICKLE_MAX_OPCODES) {
      this.limit('opcodes', at, `over ${PICKLE_MAX_OPCODES} opcodes; emulation stopped here and the rest was not scanned`, true);
      return null;
    }
    const op = win[i];
    const info = PICKLE_OPS[op];
    if (!info) {
      this.anomaly('invalid-opcode', at, `byte 0x${op.toString(16).padStart(2, '0')} at ${at} is not a pickle opcode; CPython stops here with "invalid load key". Everything before it is reported and the rest of the bytes was searched for further pickles.`);
      this.endPickle(at, null);
      this.pos = at + 1;
      this.resyncFrom = at + 1;
      return null;
    }

    // Argument decoding. `argEnd` is the window index after the argument.
    let argEnd = i + 1;
    let line = '';
    let line2 = '';
    let u = 0;
    let len = 0;
    let payloadAt = 0;
    let bigSkip = false;
    const view = this.viewOf(win);
    switch (info.arg) {
      case 'none':
        break;
      case 'u1':
        if (2 > avail) return this.short(at, winBase + win.length, atEnd);
        u = win[i + 1];
        argEnd = i + 2;
        break;
      case 'u2':
        if (3 > avail) return this.short(at, winBase + win.length, atEnd);
        u = win[i + 1] | (win[i + 2] << 8);
        argEnd = i + 3;
        break;
      case 'u4':
        if (5 > avail) return this.short(at, winBase + win.length, atEnd);
        u = view.getUint32(i + 1, true);
        argEnd = i + 5;
        break;
      case 'i4':
        if (5 > avail) return this.short(at, winBase + win.length, atEnd);
        u = view.getInt32(i + 1, true);
        argEnd = i + 5;
        break;
      case 'u8': {
        if (9 > avail) return this.short(at, winBase + win.length, atEnd);
        const v = view.getBigUint64(i + 1, true);
        u = v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
        argEnd = i + 9;
        break;
      }
      case 'f8':
        if (9 > avail) return this.short(at, winBase + win.length, atEnd);
        argEnd = i + 9;
        break;
      case 'line':
      case 'line2': {
        const lines = info.arg === 'line' ? 1 : 2;
        let j = i + 1;
        const parts: string[] = [];
        for (let l = 0; l < lines; l++) {
          const limit = Math.min(win.length, j + PICKLE_MAX_LINE);
          let k = j;
          while (k < limit && win[k] !== 0x0a) k++;
          if (k >= limit) {
            if (k - j >= PICKLE_MAX_LINE) {
              this.limit('line', at, `a text line of ${info.name} at byte ${at} is longer than ${PICKLE_MAX_LINE} bytes; emulation stopped`, true);
              return null;
            }
            return this.short(at, winBase + win.length, atEnd);
          }
          parts.push((info.name === 'GLOBAL' || info.name === 'INST' ? utf8 : latin1).decode(win.subarray(j, k)));
          j = k + 1;
        }
        line = parts[0];
        line2 = parts[1] ?? '';
        argEnd = j;
        break;
      }
      case 'len1':
      case 'len4':
      case 'len4s':
      case 'len8': {
        const hdr = info.arg === 'len1' ? 1 : info.arg === 'len8' ? 8 : 4;
        if (1 + hdr > avail) return this.short(at, winBase + win.length, atEnd);
        if (info.arg === 'len1') len = win[i + 1];
        else if (info.arg === 'len8') {
          const v = view.getBigUint64(i + 1, true);
          len = v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
        } else len = info.arg === 'len4s' ? view.getInt32(i + 1, true) : view.getUint32(i + 1, true);
        if (len < 0) {
          this.anomaly('bad-operand', at, `${info.name} at byte ${at} declares a negative length ${len}; CPython stops here`);
          this.endPickle(at, null);
          this.pos = at + 1;
          this.resyncFrom = at + 1;
          return null;
        }
        payloadAt = i + 1 + hdr;
        if (winBase + payloadAt + len > this.limitEnd) {
          // declared length past the end of the data: truncated (never allocated)
          this.anomaly('truncated', at, `${info.name} at byte ${at} declares ${len} bytes but only ${this.limitEnd - winBase - payloadAt} remain; CPython stops here`);
          this.endPickle(this.limitEnd, null);
          this.phase = 'done';
          return null;
        }
        const inline = info.name === 'LONG1' || info.name === 'LONG4' ? len <= PICKLE_MAX_LONG_BYTES : len <= PICKLE_MAX_INLINE_STRING;
        if (payloadAt + len > win.length) {
          // a big constant: keep its head and offset, skip its body without reading it
          if (inline || win.length - payloadAt < Math.min(len, PICKLE_STRING_PREVIEW * 4)) {
            if (!atEnd) return { need: at };
          }
          bigSkip = true;
        }
        argEnd = payloadAt + len;
        break;
      }
    }

    // FRAME bookkeeping (PEP 3154): an opcode must not straddle a frame's end.
    if (st.frameEnd >= 0) {
      const endAbs = winBase + argEnd;
      if (at < st.frameEnd && endAbs > st.frameEnd && info.name !== 'FRAME') {
        this.anomaly('frame-mismatch', at, `${info.name} at byte ${at} runs to byte ${endAbs}, past the end of its frame at byte ${st.frameEnd}; Python's unpickler stops here while the C one reads on`);
        st.frameEnd = -1;
      } else if (at >= st.frameEnd) st.frameEnd = -1;
    }

    this.usedOps[op] = 1;
    this.out.opcodeCount++;
    st.opcodes++;
    this.pos = winBase + argEnd;
    const stack = st.stack;

    switch (info.name) {
      case 'MARK':
        if (st.meta.length >= PICKLE_MAX_MARK_DEPTH) {
          this.limit('marks', at, `over ${PICKLE_MAX_MARK_DEPTH} MARKs open at once; emulation stopped here and the rest was not scanned`, true);
          return null;
        }
        st.meta.push(stack);
        st.metaSum += stack.length;
        st.stack = [];
        break;
      case 'STOP': {
        const v = stack.length ? stack[stack.length - 1] : this.pop(st, at);
        this.endPickle(this.pos, v);
        break;
      }
      case 'POP':
        if (stack.length) stack.pop();
        else this.popMark(st, at, 'POP'); // CPython: POP on an empty stack pops the mark
        break;
      case 'POP_MARK':
        this.popMark(st, at, 'POP_MARK');
        break;
      case 'DUP':
        this.push(st, this.top(st, at, 'DUP'), at);
        break;
      case 'FLOAT':
        this.push(st, { kind: 'float', value: Number.parseFloat(line) }, at);
        break;
      case 'INT': {
        // protocol 0 spells booleans as INT 00 / 01
        if (line === '00' || line === '01') this.push(st, { kind: 'bool', value: line === '01' }, at);
        else {
          const v = parseIntText(line);
          if (!v) this.anomaly('bad-operand', at, `INT at byte ${at} is not an integer: ${JSON.stringify(line.slice(0, 40))}`);
          this.push(st, v ?? { kind: 'missing', reason: 'bad INT', offset: at }, at);
        }
        break;
      }
      case 'LONG': {
        const v = parseIntText(line);
        if (!v) this.anomaly('bad-operand', at, `LONG at byte ${at} is not an integer: ${JSON.stringify(line.slice(0, 40))}`);
        this.push(st, v ?? { kind: 'missing', reason: 'bad LONG', offset: at }, at);
        break;
      }
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
        this.push(st, { kind: 'int', value: u }, at);
        break;
      case 'BINFLOAT':
        this.push(st, { kind: 'float', value: view.getFloat64(i + 1, false) }, at);
        break;
      case 'LONG1':
      case 'LONG4':
        this.push(st, bigSkip ? { kind: 'bigint', value: `…(${len}-byte integer)` } : decodeLong(win.subarray(payloadAt, payloadAt + len)), at);
        break;
      case 'NONE':
        this.push(st, NONE, at);
        break;
      case 'NEWTRUE':
      case 'NEWFALSE':
        this.push(st, { kind: 'bool', value: info.name === 'NEWTRUE' }, at);
        break;
      case 'STRING': {
        // a Python 2 str repr: quotes required
        const q = line[0];
        let body = line;
        if ((q === "'" || q === '"') && line.length >= 2 && line[line.length - 1] === q) body = line.slice(1, -1);
        else this.anomaly('bad-operand', at, `STRING at byte ${at} is not quoted; CPython stops here`);
        const v: Extract<PickleValue, { kind: 'str' }> = { kind: 'str', value: unescapePython(body, false), offset: at + 1, byteLength: line.length, truncated: false };
        this.noteNested(v);
        this.push(st, v, at);
        break;
      }
      case 'UNICODE': {
        const v: Extract<PickleValue, { kind: 'str' }> = { kind: 'str', value: unescapePython(line, true), offset: at + 1, byteLength: line.length, truncated: false };
        this.noteNested(v);
        this.push(st, v, at);
        break;
      }
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'BINUNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE8': {
        // Python 2 str (BINSTRING) is read as latin-1 by loaders of old checkpoints (encoding='latin1')
        const enc = info.name.includes('UNICODE') ? 'utf8' : 'latin1';
        const v = this.makeStr(win, payloadAt, len, winBase + payloadAt, enc);
        this.noteNested(v);
        this.push(st, v, at);
        break;
      }
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
      case 'BYTEARRAY8': {
        const end = Math.min(win.length, payloadAt + len);
        const v: Extract<PickleValue, { kind: 'bytes' }> = {
          kind: 'bytes',
          offset: winBase + payloadAt,
          length: len,
          head: win.subarray(payloadAt, Math.min(end, payloadAt + 64)),
        };
        if (!bigSkip) v.data = win.subarray(payloadAt, payloadAt + len);
        if (info.name === 'BYTEARRAY8') v.bytearray = true;
        this.noteNested(v);
        this.push(st, v, at);
        break;
      }
      case 'EMPTY_TUPLE':
        this.push(st, { kind: 'tuple', items: [] }, at);
        break;
      case 'TUPLE1': {
        const a = this.pop(st, at);
        this.push(st, { kind: 'tuple', items: [a] }, at);
        break;
      }
      case 'TUPLE2': {
        const b = this.pop(st, at);
        const a = this.pop(st, at);
        this.push(st, { kind: 'tuple', items: [a, b] }, at);
        break;
      }
      case 'TUPLE3': {
        const c = this.pop(st, at);
        const b = this.pop(st, at);
        const a = this.pop(st, at);
        this.push(st, { kind: 'tuple', items: [a, b, c] }, at);
        break;
      }
      case 'TUPLE':
        this.push(st, { kind: 'tuple', items: this.popMark(st, at, 'TUPLE') }, at);
        break;
      case 'EMPTY_LIST':
        this.push(st, { kind: 'list', items: [] }, at);
        break;
      case 'LIST':
        this.push(st, { kind: 'list', items: this.popMark(st, at, 'LIST') }, at);
        break;
      case 'EMPTY_DICT':
        this.push(st, { kind: 'dict', entries: [] }, at);
        break;
      case 'DICT': {
        const items = this.popMark(st, at, 'DICT');
        const entries: [PickleValue, PickleValue][] = [];
        for (let k = 0; k + 1 < items.length; k += 2) entries.push([items[k], items[k + 1]]);
        if (items.length % 2) this.anomaly('bad-operand', at, `DICT at byte ${at} has an odd number (${items.length}) of items`);
        this.push(st, { kind: 'dict', entries }, at);
        break;
      }
      case 'EMPTY_SET':
        this.push(st, { kind: 'set', items: [], frozen: false }, at);
        break;
      case 'FROZENSET':
        this.push(st, { kind: 'set', items: this.popMark(st, at, 'FROZENSET'), frozen: true }, at);
        break;
      case 'APPEND': {
        const v = this.pop(st, at);
        this.addItems(this.top(st, at, 'APPEND'), [v], at, 'APPEND');
        break;
      }
      case 'APPENDS':
      case 'ADDITEMS': {
        const items = this.popMark(st, at, info.name);
        this.addItems(this.top(st, at, info.name), items, at, info.name);
        break;
      }
      case 'SETITEM': {
        const v = this.pop(st, at);
        const k = this.pop(st, at);
        this.setItems(this.top(st, at, 'SETITEM'), [k, v], at);
        break;
      }
      case 'SETITEMS': {
        const items = this.popMark(st, at, 'SETITEMS');
        this.setItems(this.top(st, at, 'SETITEMS'), items, at);
        break;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        let idx = u;
        if (info.name === 'GET') {
          idx = Number.parseInt(line, 10);
          if (!Number.isSafeInteger(idx)) this.anomaly('bad-operand', at, `GET at byte ${at} has a non-numeric index ${JSON.stringify(line.slice(0, 40))}`);
        }
        this.push(st, this.memoGet(st, idx, at), at);
        break;
      }
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT': {
        let idx = u;
        if (info.name === 'PUT') {
          idx = Number.parseInt(line, 10);
          if (!Number.isSafeInteger(idx) || idx < 0) {
            this.anomaly('bad-operand', at, `PUT at byte ${at} has an invalid index ${JSON.stringify(line.slice(0, 40))}`);
            break;
          }
        }
        this.memoPut(st, idx, this.top(st, at, info.name), at);
        break;
      }
      case 'MEMOIZE':
        this.memoPut(st, st.memo.size, this.top(st, at, 'MEMOIZE'), at);
        break;
      case 'GLOBAL':
        this.push(st, this.recordImport(line, line2, at, 'GLOBAL', true), at);
        break;
      case 'STACK_GLOBAL': {
        const nameV = this.pop(st, at);
        const modV = this.pop(st, at);
        const mod = strOf(modV);
        const name = strOf(nameV);
        const plain = mod !== null && name !== null;
        if (!plain) {
          this.anomaly('bad-operand', at, `STACK_GLOBAL at byte ${at} takes its module and name from ${formatValue(modV, { maxChars: 60 })} and ${formatValue(nameV, { maxChars: 60 })}, not from plain strings`);
        }
        const offs: number[] = [];
        if (modV.kind === 'str') offs.push(modV.offset);
        if (nameV.kind === 'str') offs.push(nameV.offset);
        this.push(
          st,
          this.recordImport(mod ?? `<${formatValue(modV, { maxChars: 80 })}>`, name ?? `<${formatValue(nameV, { maxChars: 80 })}>`, at, 'STACK_GLOBAL', plain, offs),
          at,
        );
        break;
      }
      case 'INST': {
        const args = this.popMark(st, at, 'INST');
        const cls = this.recordImport(line, line2, at, 'INST', true);
        this.push(st, this.recordCall('INST', cls, { kind: 'tuple', items: args }, at), at);
        break;
      }
      case 'OBJ': {
        const items = this.popMark(st, at, 'OBJ');
        const cls = items.length ? items[0] : { kind: 'missing' as const, reason: 'OBJ without a class', offset: at };
        if (!items.length) this.anomaly('stack-underflow', at, `OBJ at byte ${at} has no class after its MARK`);
        this.push(st, this.recordCall('OBJ', cls, { kind: 'tuple', items: items.slice(1) }, at), at);
        break;
      }
      case 'REDUCE': {
        const args = this.pop(st, at);
        const fn = this.pop(st, at);
        if (args.kind !== 'tuple' && args.kind !== 'missing') this.anomaly('bad-call-args', at, `REDUCE at byte ${at} calls ${formatValue(fn, { maxChars: 60 })} with ${args.kind} arguments instead of a tuple; CPython raises here`);
        this.push(st, this.recordCall('REDUCE', fn, args, at), at);
        break;
      }
      case 'NEWOBJ': {
        const args = this.pop(st, at);
        const cls = this.pop(st, at);
        this.push(st, this.recordCall('NEWOBJ', cls, args, at), at);
        break;
      }
      case 'NEWOBJ_EX': {
        const kwargs = this.pop(st, at);
        const args = this.pop(st, at);
        const cls = this.pop(st, at);
        this.push(st, this.recordCall('NEWOBJ_EX', cls, args, at, kwargs), at);
        break;
      }
      case 'BUILD': {
        const state = this.pop(st, at);
        const inst = this.top(st, at, 'BUILD');
        if (inst.kind === 'global' || inst.kind === 'ext') {
          this.anomaly('build-on-global', at, `BUILD at byte ${at} sets state ${formatValue(state, { maxChars: 80 })} on ${formatValue(inst)} itself (a module, class or function), not on an instance: a loader would overwrite its attributes`);
        }
        if (inst.kind === 'call') {
          (inst.state ??= []).push(state);
          if (isJoblibWrapper(inst.callee)) this.joblibArray(state, at);
        }
        break;
      }
      case 'PERSID':
      case 'BINPERSID': {
        const pid: PickleValue = info.name === 'PERSID' ? { kind: 'str', value: line, offset: at + 1, byteLength: line.length, truncated: false } : this.pop(st, at);
        if (this.out.persistentIds.length < PICKLE_MAX_RECORDS) this.out.persistentIds.push({ offset: at, pid, pickle: st.index, region: st.region });
        this.push(st, { kind: 'persid', pid, offset: at }, at);
        break;
      }
      case 'EXT1':
      case 'EXT2':
      case 'EXT4': {
        this.anomaly('ext-opcode', at, `${info.name} at byte ${at} imports entry ${u} of copyreg's extension registry: what it names depends on the loading process, not on the file`);
        const g = this.recordImport('copyreg._extension_registry', String(u), at, info.name, true);
        this.push(st, { kind: 'ext', code: u, offset: at, ref: g.kind === 'global' ? g.ref : -1 }, at);
        break;
      }
      case 'PROTO': {
        if (at !== st.start || st.proto !== null) {
          this.anomaly('proto-repeated', at, `PROTO ${u} at byte ${at} is not the first opcode of the pickle that starts at byte ${st.start}; pickle writers emit it once, first`);
        }
        if (u > PICKLE_HIGHEST_PROTOCOL) this.anomaly('bad-protocol', at, `PROTO ${u} at byte ${at}: protocols above ${PICKLE_HIGHEST_PROTOCOL} do not exist; CPython refuses the stream`);
        st.proto = u;
        this.out.pickles[st.index].protocol = u;
        break;
      }
      case 'FRAME': {
        if (st.frameEnd >= 0 && at < st.frameEnd) {
          this.anomaly('frame-mismatch', at, `FRAME at byte ${at} starts before the previous frame ends at byte ${st.frameEnd}`);
        }
        st.frameEnd = this.pos + u;
        if (st.frameEnd > this.limitEnd) {
          this.anomaly('frame-mismatch', at, `FRAME at byte ${at} declares ${u} bytes, past the end of the data at byte ${this.limitEnd}`);
          st.frameEnd = this.limitEnd;
        }
        break;
      }
      case 'NEXT_BUFFER':
      case 'READONLY_BUFFER':
        if (info.name === 'NEXT_BUFFER') {
          this.anomaly('out-of-band-buffer', at, `NEXT_BUFFER at byte ${at} takes a protocol-5 out-of-band buffer the file does not contain`);
          this.push(st, { kind: 'buffer', offset: at, readonly: false }, at);
        }
        break;
    }
    return null;
  }

  private addItems(target: PickleValue, items: PickleValue[], at: number, op: string): void {
    if (target.kind === 'list' || target.kind === 'set') {
      for (const v of items) target.items.push(v);
    } else if (target.kind === 'call') {
      // list subclasses and objects with append/extend: the loader calls those methods
      const list = (target.items ??= []);
      for (const v of items) list.push(v);
    } else if (target.kind === 'global' || target.kind === 'ext') {
      this.anomaly('append-on-global', at, `${op} at byte ${at} appends to ${formatValue(target)} itself (a module, class or function)`);
    }
  }

  private setItems(target: PickleValue, flat: PickleValue[], at: number): void {
    if (flat.length % 2) this.anomaly('bad-operand', at, `SETITEMS at byte ${at} has an odd number (${flat.length}) of items`);
    let entries: [PickleValue, PickleValue][] | null = null;
    if (target.kind === 'dict') entries = target.entries;
    else if (target.kind === 'call') entries = target.entries ??= [];
    else if (target.kind === 'global' || target.kind === 'ext') {
      this.anomaly('setitem-on-global', at, `SETITEM at byte ${at} stores ${formatValue(flat[0] ?? NONE, { maxChars: 60 })} into ${formatValue(target)} itself (a module, class or function): a loader would change it for the whole process`);
    }
    if (!entries) return;
    for (let k = 0; k + 1 < flat.length; k += 2) entries.push([flat[k], flat[k + 1]]);
  }

  /**
   * joblib (numpy_pickle.py) writes a NumpyArrayWrapper, BUILDs its state, and then the array's raw bytes
   * straight into the stream (`write_array`): a 1-byte padding length and padding when the state has
   * `numpy_array_alignment_bytes`, then `count × itemsize` bytes; an object array is a whole pickle
   * instead. The loader reads them in `load_build`, so the emulator must step over them the same way.
   */
  private joblibArray(state: PickleValue, at: number): void {
    const entries = state.kind === 'dict' ? state.entries : [];
    const get = (k: string) => entries.filter(([key]) => strOf(key) === k).pop()?.[1];
    const itemsize = numpyItemsize(get('dtype'));
    const shape = get('shape');
    let count: number | null = 1;
    if (shape && shape.kind === 'tuple') {
      for (const d of shape.items) {
        if (d.kind !== 'int' || d.value < 0) count = null;
        else if (count !== null) count *= d.value;
      }
    } else count = null;
    if (itemsize === 'object') {
      // joblib pickles the object array with a fresh Pickler right here
      this.suspended.push(this.state!);
      this.beginPickle(this.pos, 'joblib-object-array');
      return;
    }
    if (itemsize === null || count === null || !Number.isSafeInteger(count * itemsize)) {
      this.anomaly('joblib-array', at, `the joblib array wrapper BUILT at byte ${at} has a dtype or shape that cannot be read (${formatValue(state, { maxChars: 120 })}); its raw bytes follow in the stream, so nothing after this point could be scanned`);
      this.endPickle(this.pos, null);
      this.phase = 'done';
      return;
    }
    const padding = get('numpy_array_alignment_bytes');
    this.pendingJoblib = { padding: !!padding && padding.kind !== 'none', bytes: count * itemsize };
  }
}

/** Expanded size and depth of a value (shared references copied), both saturating at `cap`. */
export function measureValue(root: PickleValue, cap: number, maxNodes = 10_000_000): { size: number; depth: number } {
  const memo = new Map<PickleValue, { size: number; depth: number }>();
  const onPath = new Set<PickleValue>();
  const stack: { v: PickleValue; kids: PickleValue[]; i: number; size: number; depth: number }[] = [];
  let visited = 0;
  const enter = (v: PickleValue) => {
    onPath.add(v);
    stack.push({ v, kids: childrenOf(v), i: 0, size: 1, depth: 1 });
  };
  enter(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.i < top.kids.length) {
      const k = top.kids[top.i++];
      const known = memo.get(k);
      if (known) {
        top.size = Math.min(cap, top.size + known.size);
        top.depth = Math.max(top.depth, known.depth + 1);
      } else if (onPath.has(k)) top.size = Math.min(cap, top.size + 1);
      else if (++visited > maxNodes) return { size: cap, depth: stack.length };
      else enter(k);
      continue;
    }
    stack.pop();
    onPath.delete(top.v);
    memo.set(top.v, { size: top.size, depth: top.depth });
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.size = Math.min(cap, parent.size + top.size);
      parent.depth = Math.max(parent.depth, top.depth + 1);
    }
  }
  return memo.get(root) ?? { size: 1, depth: 1 };
}

/**
 * Emulates the pickle(s) in `bytes` (an in-memory buffer: a zip member, a nested payload, a test).
 * Never throws on bad input: damage is reported as anomalies.
 */
export function emulatePickle(bytes: Uint8Array, opts: EmulateOptions = {}): PickleEmulation {
  const base = opts.baseOffset ?? 0;
  const m = new PickleMachine(base, base + bytes.length, opts);
  m.run(bytes, base, true, opts.signal);
  return m.finish();
}

/**
 * Emulates the pickle(s) in `source` bytes [start, end) in windows of PICKLE_WINDOW bytes: memory stays
 * bounded whatever the size, and constants bigger than a window are skipped by offset, never read.
 */
export async function emulatePickleSource(
  source: ByteSource,
  opts: EmulateOptions & { start?: number; end?: number; /** window size (tests use small ones) */ window?: number } = {},
): Promise<PickleEmulation> {
  const start = opts.start ?? 0;
  const end = Math.min(opts.end ?? source.size, source.size);
  const window = Math.max(16, opts.window ?? PICKLE_WINDOW);
  const m = new PickleMachine(start, end, { ...opts, baseOffset: start });
  let at = start;
  let size = window;
  while (!m.finished) {
    throwIfAborted(opts.signal);
    const want = Math.min(size, end - at);
    const win = want > 0 ? await source.read(at, want, opts.signal) : new Uint8Array(0);
    const r = m.run(win, at, at + win.length >= end, opts.signal);
    if ('done' in r) break;
    // No progress: one opcode needs more than the window (a constant kept whole): widen it for this read.
    size = r.need === at ? size * 2 : window;
    at = r.need;
  }
  return m.finish();
}
