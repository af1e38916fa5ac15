import type { PickleOpName } from './value';

/**
 * How an opcode's argument is encoded (CPython Lib/pickletools.py ArgumentDescriptor):
 * none · u1/u2/u4/i4/u8 fixed little-endian integers · f8 big-endian double · line one `\n`-terminated
 * line · line2 two lines · len1/len4/len4s/len8 a length (u1, u4, signed i4, u8) followed by that many bytes.
 */
export type PickleArg = 'none' | 'u1' | 'u2' | 'u4' | 'i4' | 'u8' | 'f8' | 'line' | 'line2' | 'len1' | 'len4' | 'len4s' | 'len8';

export interface PickleOpInfo {
  code: number;
  name: PickleOpName;
  arg: PickleArg;
  /** protocol that introduced it */
  proto: number;
}

const DEFS: [number, PickleOpName, PickleArg, number][] = [
  [0x28, 'MARK', 'none', 0], [0x2e, 'STOP', 'none', 0], [0x30, 'POP', 'none', 0], [0x31, 'POP_MARK', 'none', 1],
  [0x32, 'DUP', 'none', 0], [0x46, 'FLOAT', 'line', 0], [0x49, 'INT', 'line', 0], [0x4a, 'BININT', 'i4', 1],
  [0x4b, 'BININT1', 'u1', 1], [0x4c, 'LONG', 'line', 0], [0x4d, 'BININT2', 'u2', 1], [0x4e, 'NONE', 'none', 0],
  [0x50, 'PERSID', 'line', 0], [0x51, 'BINPERSID', 'none', 1], [0x52, 'REDUCE', 'none', 0], [0x53, 'STRING', 'line', 0],
  [0x54, 'BINSTRING', 'len4s', 1], [0x55, 'SHORT_BINSTRING', 'len1', 1], [0x56, 'UNICODE', 'line', 0],
  [0x58, 'BINUNICODE', 'len4', 1], [0x61, 'APPEND', 'none', 0], [0x62, 'BUILD', 'none', 0], [0x63, 'GLOBAL', 'line2', 0],
  [0x64, 'DICT', 'none', 0], [0x7d, 'EMPTY_DICT', 'none', 1], [0x65, 'APPENDS', 'none', 1], [0x67, 'GET', 'line', 0],
  [0x68, 'BINGET', 'u1', 1], [0x69, 'INST', 'line2', 0], [0x6a, 'LONG_BINGET', 'u4', 1], [0x6c, 'LIST', 'none', 0],
  [0x5d, 'EMPTY_LIST', 'none', 1], [0x6f, 'OBJ', 'none', 1], [0x70, 'PUT', 'line', 0], [0x71, 'BINPUT', 'u1', 1],
  [0x72, 'LONG_BINPUT', 'u4', 1], [0x73, 'SETITEM', 'none', 0], [0x74, 'TUPLE', 'none', 0], [0x29, 'EMPTY_TUPLE', 'none', 1],
  [0x75, 'SETITEMS', 'none', 1], [0x47, 'BINFLOAT', 'f8', 1], [0x80, 'PROTO', 'u1', 2], [0x81, 'NEWOBJ', 'none', 2],
  [0x82, 'EXT1', 'u1', 2], [0x83, 'EXT2', 'u2', 2], [0x84, 'EXT4', 'i4', 2], [0x85, 'TUPLE1', 'none', 2],
  [0x86, 'TUPLE2', 'none', 2], [0x87, 'TUPLE3', 'none', 2], [0x88, 'NEWTRUE', 'none', 2], [0x89, 'NEWFALSE', 'none', 2],
  [0x8a, 'LONG1', 'len1', 2], [0x8b, 'LONG4', 'len4s', 2], [0x42, 'BINBYTES', 'len4', 3], [0x43, 'SHORT_BINBYTES', 'len1', 3],
  [0x8c, 'SHORT_BINUNICODE', 'len1', 4], [0x8d, 'BINUNICODE8', 'len8', 4], [0x8e, 'BINBYTES8', 'len8', 4],
  [0x8f, 'EMPTY_SET', 'none', 4], [0x90, 'ADDITEMS', 'none', 4], [0x91, 'FROZENSET', 'none', 4], [0x92, 'NEWOBJ_EX', 'none', 4],
  [0x93, 'STACK_GLOBAL', 'none', 4], [0x94, 'MEMOIZE', 'none', 4], [0x95, 'FRAME', 'u8', 4], [0x96, 'BYTEARRAY8', 'len8', 5],
  [0x97, 'NEXT_BUFFER', 'none', 5], [0x98, 'READONLY_BUFFER', 'none', 5],
];

/** Opcode table indexed by byte; undefined for bytes that are no opcode. */
export const PICKLE_OPS: readonly (PickleOpInfo | undefined)[] = (() => {
  const t: (PickleOpInfo | undefined)[] = new Array(256).fill(undefined);
  for (const [code, name, arg, proto] of DEFS) t[code] = { code, name, arg, proto };
  return t;
})();

/** Opcode names per byte (fast path for the emulator's records). */
export const OP_NAMES: readonly (PickleOpName | undefined)[] = PICKLE_OPS.map((o) => o?.name);

/** Highest protocol CPython knows (pickle.HIGHEST_PROTOCOL). */
export const PICKLE_HIGHEST_PROTOCOL = 5;
