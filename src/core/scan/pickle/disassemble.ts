import { PICKLE_MAX_OPCODES } from '../../io/limits';
import type { PickleEmulation } from './emulate';
import { PICKLE_OPS } from './opcodes';
import { formatValue, type PickleOpName } from './value';

/** One line of the listing, like CPython's pickletools.dis. */
export interface DisassemblyLine {
  /** absolute offset of the opcode */
  offset: number;
  op: PickleOpName | 'INVALID';
  /** the argument as text (a string, a number, `module name`, `<1234 bytes>`) */
  arg: string;
  /** open MARKs before this opcode (for indentation) */
  depth: number;
  /** what the emulator saw here: an import, a call, an anomaly */
  note?: string;
}

export interface DisassembleOptions {
  baseOffset?: number;
  /** absolute offset to center the listing on (a finding's offset); default: the start */
  around?: number;
  /** lines kept before and after `around` */
  context?: number;
  /** annotate lines with the emulation's imports, calls and anomalies */
  emulation?: PickleEmulation;
  /** opcodes decoded at most (a listing is for people: it never needs the whole of a huge pickle) */
  maxOpcodes?: number;
}

export interface Disassembly {
  lines: DisassemblyLine[];
  /** lines were dropped before / after the window */
  before: boolean;
  after: boolean;
}

const dec = new TextDecoder('utf-8');

function short(s: string, n = 60): string {
  return JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);
}

/**
 * A readable listing of the pickle program around an offset (the page shows it next to a finding).
 * Decodes linearly from the start, as the loader does (opcodes have variable length, so decoding cannot
 * start mid-stream), keeps a sliding window, and stops at the first invalid opcode or truncation with a
 * last INVALID line. Bounded by `maxOpcodes`.
 */
export function disassemblePickle(bytes: Uint8Array, opts: DisassembleOptions = {}): Disassembly {
  const base = opts.baseOffset ?? 0;
  const ctx = opts.context ?? 12;
  const around = opts.around ?? base;
  const max = Math.min(opts.maxOpcodes ?? 1_000_000, PICKLE_MAX_OPCODES);
  const notes = new Map<number, string[]>();
  const note = (at: number, text: string) => {
    const l = notes.get(at) ?? [];
    if (l.length < 3) l.push(text);
    notes.set(at, l);
  };
  if (opts.emulation) {
    for (const i of opts.emulation.imports) note(i.offset, `import ${i.module}.${i.name}`);
    for (const c of opts.emulation.calls) note(c.offset, `call ${formatValue(c.value, { maxChars: 120 })}`);
    for (const a of opts.emulation.anomalies) note(a.offset, a.code);
  }
  const before: DisassemblyLine[] = [];
  const after: DisassemblyLine[] = [];
  let droppedBefore = false;
  let droppedAfter = false;
  let depth = 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  for (let n = 0; n < max && i < bytes.length; n++) {
    const at = base + i;
    const info = PICKLE_OPS[bytes[i]];
    let line: DisassemblyLine;
    let next = i + 1;
    if (!info) {
      line = { offset: at, op: 'INVALID', arg: `0x${bytes[i].toString(16).padStart(2, '0')}`, depth };
      next = bytes.length;
    } else {
      let arg = '';
      const need = (k: number) => i + 1 + k <= bytes.length;
      switch (info.arg) {
        case 'none':
          break;
        case 'u1':
          arg = need(1) ? String(bytes[i + 1]) : '';
          next = i + 2;
          break;
        case 'u2':
          arg = need(2) ? String(dv.getUint16(i + 1, true)) : '';
          next = i + 3;
          break;
        case 'u4':
        case 'i4':
          arg = need(4) ? String(info.arg === 'u4' ? dv.getUint32(i + 1, true) : dv.getInt32(i + 1, true)) : '';
          next = i + 5;
          break;
        case 'u8':
          arg = need(8) ? String(dv.getBigUint64(i + 1, true)) : '';
          next = i + 9;
          break;
        case 'f8':
          arg = need(8) ? String(dv.getFloat64(i + 1, false)) : '';
          next = i + 9;
          break;
        case 'line':
        case 'line2': {
          let j = i + 1;
          const parts: string[] = [];
          for (let l = 0; l < (info.arg === 'line' ? 1 : 2); l++) {
            let k = j;
            while (k < bytes.length && k - j < 1 << 16 && bytes[k] !== 0x0a) k++;
            parts.push(dec.decode(bytes.subarray(j, k)));
            j = k + 1;
          }
          arg = parts.length === 2 ? `${parts[0]} ${parts[1]}` : short(parts[0]);
          next = j;
          break;
        }
        default: {
          const hdr = info.arg === 'len1' ? 1 : info.arg === 'len8' ? 8 : 4;
          if (!need(hdr)) {
            next = bytes.length + 1;
            break;
          }
          const len = hdr === 1 ? bytes[i + 1] : hdr === 4 ? (info.arg === 'len4s' ? dv.getInt32(i + 1, true) : dv.getUint32(i + 1, true)) : Number(dv.getBigUint64(i + 1, true));
          const p = i + 1 + hdr;
          const body = bytes.subarray(p, Math.min(bytes.length, p + Math.min(len, 64)));
          if (info.name.includes('UNICODE') || info.name.includes('STRING')) arg = short(dec.decode(body)) + (len > 64 ? ` (${len} bytes)` : '');
          else if (info.name.startsWith('LONG')) arg = `<${len}-byte integer>`;
          else arg = `<${len} bytes>`;
          next = len < 0 ? bytes.length + 1 : p + len;
        }
      }
      if (info.name === 'MARK') depth++;
      line = { offset: at, op: next > bytes.length ? 'INVALID' : info.name, arg: next > bytes.length ? `${info.name} truncated` : arg, depth: info.name === 'MARK' ? depth - 1 : depth };
      if (['TUPLE', 'LIST', 'DICT', 'APPENDS', 'SETITEMS', 'ADDITEMS', 'FROZENSET', 'POP_MARK', 'OBJ', 'INST'].includes(info.name) && depth > 0) depth--;
    }
    const ns = notes.get(at);
    if (ns) line.note = ns.join('; ');
    if (at < around) {
      before.push(line);
      if (before.length > ctx) {
        before.shift();
        droppedBefore = true;
      }
    } else if (after.length < ctx + 1) after.push(line);
    else {
      droppedAfter = true;
      break;
    }
    if (line.op === 'INVALID') break;
    i = next;
  }
  return { lines: [...before, ...after], before: droppedBefore, after: droppedAfter || i < bytes.length };
}

/** The listing as text, one opcode per line (`   42: c    GLOBAL  os system   ← import os.system`). */
export function formatDisassembly(d: Disassembly): string {
  const out: string[] = [];
  if (d.before) out.push('  …');
  for (const l of d.lines) out.push(`${String(l.offset).padStart(8)}: ${'  '.repeat(Math.min(l.depth, 20))}${l.op.padEnd(16)} ${l.arg}${l.note ? `   ← ${l.note}` : ''}`);
  if (d.after) out.push('  …');
  return out.join('\n');
}
