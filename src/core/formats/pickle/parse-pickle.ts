import { PICKLE_OPS } from '../../scan/pickle/opcodes';
import { emulatePickle } from '../../scan/pickle/emulate';
import { scanPickleSource } from '../../scan/pickle/scan-pickle';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { plainStateDictFinding } from '../pytorch/findings';

/**
 * Opcodes a pickle without PROTO can start with: every opcode that pushes without popping. CPython's
 * unpickler never requires PROTO, so a protocol-4 stream with its PROTO byte removed (starting with FRAME
 * or SHORT_BINUNICODE) still loads, and PERSID/EXT push objects the loader supplies.
 */
const P0_STARTS = new Set([
  // protocol 0/1: MARK, GLOBAL, INST, empty containers, NONE, constants, PERSID
  0x28, 0x63, 0x69, 0x7d, 0x5d, 0x29, 0x4e, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x53, 0x54, 0x55, 0x56, 0x58, 0x46, 0x47, 0x6c, 0x64, 0x74, 0x50,
  // protocol 2+: EXT1/2/4, NEWTRUE/NEWFALSE, LONG1/LONG4; protocol 3: BINBYTES, SHORT_BINBYTES
  0x82, 0x83, 0x84, 0x88, 0x89, 0x8a, 0x8b, 0x42, 0x43,
  // protocol 4/5: SHORT_BINUNICODE, BINUNICODE8, BINBYTES8, EMPTY_SET, FRAME, BYTEARRAY8
  0x8c, 0x8d, 0x8e, 0x8f, 0x95, 0x96,
]);

/**
 * A raw pickle, identified by content (THREATS.md §2): PROTO 2..5 first, or a protocol-0/1 stream whose
 * first opcodes emulate cleanly and whose last byte is STOP.
 */
export function sniffPickle(ctx: SniffContext): boolean {
  const h = ctx.head;
  if (h.length < 2) return false;
  // PROTO n, then an opcode: a safetensors file whose header length is 0x80 + 256·n (n ≤ 5) also starts
  // 80 0n, but its next byte (the length's third byte, 0 for any header under 64 KiB) is no opcode
  if (h[0] === 0x80) return h[1] <= 5 && (h.length < 3 || PICKLE_OPS[h[2]] !== undefined);
  if (!P0_STARTS.has(h[0]) || ctx.tail[ctx.tail.length - 1] !== 0x2e) return false;
  const probe = emulatePickle(h.subarray(0, Math.min(h.length, 4096)), { maxPickles: 1, scanTrailing: false });
  return !probe.anomalies.some((a) => a.code === 'invalid-opcode' || a.code === 'bad-operand') && probe.opcodeCount >= 2;
}

export async function parsePickle(ctx: ParseContext): Promise<FileParse> {
  const file = ctx.source.name;
  const scan = await scanPickleSource(ctx.source, { file, context: 'pickle', signal: ctx.signal, label: `"${file}"` });
  const findings = [...scan.findings];
  const protocol = scan.emulation.pickles[0]?.protocol;
  if (scan.plain) findings.push(plainStateDictFinding(file, 'pickle'));
  return {
    format: 'pickle',
    formatVersion: protocol === null || protocol === undefined ? '0' : String(protocol),
    model: null,
    findings,
    extra: { pickle: { pickles: scan.emulation.pickles.length, imports: scan.tiers, opcodes: scan.emulation.opcodeCount } },
  };
}

export const pickleHandler: FormatHandler = {
  id: 'pickle',
  label: 'a Python pickle',
  family: 'pickle',
  sniff: sniffPickle,
  parse: parsePickle,
};
