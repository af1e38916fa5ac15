/**
 * Limits on untrusted input. Each one protects memory or time against a file that declares more than it
 * holds; a file over a limit gets a finding or a ParseError, never an allocation of the declared size.
 */

/** Bytes read from the start of every file to sniff its format. */
export const SNIFF_BYTES = 64 * 1024;

/** safetensors: largest JSON header accepted (the reference implementation caps it at 100 MB). */
export const SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024;

/** JSON documents read whole (index files, configs): larger ones are not parsed. */
export const JSON_MAX_BYTES = 64 * 1024 * 1024;

/** Nesting depth of any JSON we parse. */
export const JSON_MAX_DEPTH = 64;

/** Tensors listed by one file. */
export const MAX_TENSORS = 1_000_000;

/** Dimensions of one tensor (GGUF allows 4; ONNX has no limit, real models stay far below). */
export const MAX_RANK = 32;

/** Largest single read the whole-file helpers allow (headers, configs, small members). */
export const MAX_WHOLE_READ = 256 * 1024 * 1024;

/** Chunk size for streaming passes (hash, statistics): large enough to amortise calls, small enough to keep memory flat. */
export const STREAM_CHUNK = 8 * 1024 * 1024;

/** Files in one inspection. */
export const MAX_FILES = 10_000;
