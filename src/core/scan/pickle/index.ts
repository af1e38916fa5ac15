/** Pickle emulation and policy (THREATS.md §1): the API other formats call. */
export * from './value';
export * from './opcodes';
export { emulatePickle, emulatePickleSource, measureValue, sniffPayloadMagic, decodeBase64, decodeHex } from './emulate';
export type { EmulateOptions, NestedCandidate, PickleAnomaly, PickleAnomalyCode, PickleCallRecord, PickleEmulation, PickleImport, PickleImportOp, PickleRecord, PickleRegion } from './emulate';
export { classifyImport, isWeightsOnlyGlobal, normaliseModule } from './policy';
export type { ClassifyOptions, ImportTier, ImportVerdict } from './policy';
export { analyseEmulation, isStoragePersistentId, registerNestedPayloadScanner, scanPickleBytes, scanPickleSource } from './scan-pickle';
export type { PickleContext, PickleScanResult, ScanPickleOptions } from './scan-pickle';
export { disassemblePickle, formatDisassembly } from './disassemble';
export type { Disassembly, DisassemblyLine, DisassembleOptions } from './disassemble';
