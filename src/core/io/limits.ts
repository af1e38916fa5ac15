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

/** zip: entries in one central directory or local-header walk (a PyTorch checkpoint has a few thousand). */
export const ZIP_MAX_ENTRIES = 200_000;

/** zip: largest central directory read whole (200k entries of ~150 bytes fit comfortably). */
export const ZIP_MAX_CENTRAL_DIR = 64 * 1024 * 1024;

/** zip: bytes one member may inflate to when Tamperscope reads it (against zip bombs). */
export const ZIP_MAX_MEMBER_BYTES = 256 * 1024 * 1024;

/** zip: total bytes inflated or read while scanning the members of one archive (all nesting levels). */
export const ZIP_MAX_SCAN_BYTES = 1024 * 1024 * 1024;

/** zip: nesting depth of zips inside zips (and npz/keras inside zips) that are opened. */
export const ZIP_MAX_DEPTH = 4;

/** zip: a member whose declared size exceeds its compressed size by more than this ratio is a bomb candidate. */
export const ZIP_BOMB_RATIO = 100;

/** zip: ...but only when the declared size is at least this large (tiny highly-compressible files are normal). */
export const ZIP_BOMB_MIN_BYTES = 16 * 1024 * 1024;

/** zip: bytes of a member's uncompressed content checked against its CRC-32 (larger members are checked only when read anyway). */
export const ZIP_CRC_CHECK_BYTES = 64 * 1024 * 1024;

/**
 * tar: members are scanned under the zip limits above (ZIP_MAX_SCAN_BYTES budget shared with everything
 * nested, ZIP_MAX_DEPTH nesting, ZIP_MAX_ENTRIES entries); these cover what only tar has.
 */
/** tar: largest GNU long-name/long-link or pax extended header read (real ones hold one path, a few hundred bytes). */
export const TAR_MAX_EXTENDED_HEADER = 1024 * 1024;

/** tar: bytes searched for the next valid header after a damaged one or after the end marker. */
export const TAR_MAX_RESYNC_BYTES = 64 * 1024 * 1024;

/** tar: members up to this size are read whole (exact offsets for their findings); larger ones stay ranged slices. */
export const TAR_INLINE_MEMBER_BYTES = 1024 * 1024;

/** tar: bytes read at a time while walking headers. */
export const TAR_READ_WINDOW = 64 * 1024;

/**
 * gzip: most bytes one stream inflates to (like ZIP_MAX_MEMBER_BYTES; the output is held in memory to be
 * sniffed and scanned, and also counts against the ZIP_MAX_SCAN_BYTES budget). An expansion bomb stops here.
 */
export const GZIP_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** gzip: compressed bytes pushed to the inflater at a time; one push inflates to at most ~1032× this, so it bounds the overshoot past the cap. */
export const GZIP_PUSH_BYTES = 16 * 1024;

/** gzip: members of a multi-member stream whose CRC-32 and size trailers are checked. */
export const GZIP_MAX_MEMBERS_CHECKED = 1_000;

/** GGUF: largest header (metadata + tensor infos) read; a 256k-token vocabulary is a few MB, a large one tens of MB. */
export const GGUF_MAX_HEADER = 256 * 1024 * 1024;

/** GGUF: bytes fetched per ranged read while streaming the header. */
export const GGUF_READ_CHUNK = 1024 * 1024;

/** GGUF: metadata key-value pairs (real files have a few dozen). */
export const GGUF_MAX_KV = 1_000_000;

/** GGUF: nesting of arrays inside arrays. */
export const GGUF_MAX_ARRAY_DEPTH = 8;

/** GGUF: dimensions of one tensor (ggml's GGML_MAX_DIMS is 4; the checks of THREATS.md §5 allow up to 8). */
export const GGUF_MAX_DIMS = 8;

/** Chat templates: characters tokenised (real templates are a few KB). */
export const TEMPLATE_MAX_CHARS = 1024 * 1024;

/** HDF5 (jsfive reads the whole file into memory): largest file parsed. */
export const HDF5_MAX_BYTES = 512 * 1024 * 1024;

/** HDF5: nesting depth of groups walked. */
export const HDF5_MAX_DEPTH = 32;

/** HDF5: datasets listed from one file. */
export const HDF5_MAX_DATASETS = 100_000;

// ---- pickle emulator (THREATS.md §1: "Bound everything: opcodes, stack depth, memo size, string bytes, nesting") ----

/** Opcodes executed over one emulation (all pickles of a file together): caps time on a hostile stream. */
export const PICKLE_MAX_OPCODES = 250_000_000;

/** Values on the stack plus all marked stacks: caps memory for a stream that only pushes. */
export const PICKLE_MAX_STACK = 10_000_000;

/** Open MARKs (the metastack): caps memory and the depth of every structure built from marks. */
export const PICKLE_MAX_MARK_DEPTH = 100_000;

/** Distinct memo slots of one pickle: caps memory for a stream of PUTs to fresh indices. */
export const PICKLE_MAX_MEMO = 10_000_000;

/** Longest string or bytes constant decoded into a value; longer ones keep a preview and their offset. */
export const PICKLE_MAX_INLINE_STRING = 1024 * 1024;

/** Characters kept as the preview of a string constant longer than PICKLE_MAX_INLINE_STRING. */
export const PICKLE_STRING_PREVIEW = 256;

/** Total bytes decoded into string values over one emulation; past it strings keep previews only. */
export const PICKLE_MAX_STRING_BYTES = 256 * 1024 * 1024;

/** Longest protocol-0 text line (GLOBAL, INT, STRING, ...) searched for its newline. */
export const PICKLE_MAX_LINE = 4 * 1024 * 1024;

/** LONG/LONG1/LONG4 magnitudes decoded exactly; longer integers are kept as their byte length. */
export const PICKLE_MAX_LONG_BYTES = 256;

/** Nesting depth of emulated values (tuples in tuples...): deeper structures are reported. */
export const PICKLE_MAX_NESTING = 10_000;

/** Pickles emulated back to back in one file (legacy PyTorch writes five). */
export const PICKLE_MAX_PICKLES = 1_000;

/** Imports and calls recorded one by one; past it they are counted only. */
export const PICKLE_MAX_RECORDS = 100_000;

/** Bytes searched for a pickle after a broken stream or after the last STOP. */
export const PICKLE_MAX_RESYNC_SCAN = 64 * 1024 * 1024;

/**
 * Expansion bomb: a value whose tree size (shared references counted once per path) exceeds both this
 * many nodes and PICKLE_EXPANSION_RATIO × the pickle's bytes is reported; it is never materialised.
 */
export const PICKLE_EXPANSION_MIN = 1_000_000;
export const PICKLE_EXPANSION_RATIO = 1_000;

/** Window read at a time when a pickle is emulated straight from a file (bounded memory for any size). */
export const PICKLE_WINDOW = 16 * 1024 * 1024;

/** Depth of nested payloads (a pickle in a bytes constant in a pickle...) scanned recursively. */
export const PICKLE_NESTED_MAX_DEPTH = 4;

/** Largest nested payload (after base64/hex decoding) scanned; larger ones are reported unscanned. */
export const PICKLE_NESTED_MAX_BYTES = 64 * 1024 * 1024;

/** Nested payloads scanned per file. */
export const PICKLE_MAX_NESTED_PAYLOADS = 64;

/** NumPy: header bytes read (numpy itself refuses headers over 10 000 bytes unless told otherwise). */
export const NPY_MAX_HEADER = 1024 * 1024;
export const NPY_NUMPY_HEADER_LIMIT = 10_000;

/** PyTorch legacy: storages listed by the storage-keys pickle. */
export const TORCH_MAX_STORAGES = 1_000_000;

/** model.sig: largest signing bundle read (a manifest of 100k files is ~15 MB of JSON and base64). */
export const MODEL_SIG_MAX_BYTES = 32 * 1024 * 1024;

/** model.sig: resources listed by one signing manifest. */
export const MODEL_SIG_MAX_RESOURCES = 1_000_000;

/** X.509 / DER: largest certificate parsed, and nesting depth of DER values walked. */
export const DER_MAX_BYTES = 64 * 1024;
export const DER_MAX_DEPTH = 16;

/** Hub look-up: files accepted from one repository listing, and listing pages followed. */
export const HUB_MAX_FILES = 100_000;
export const HUB_MAX_PAGES = 1_000;

/** Hub look-up: small (non-LFS) files read whole to compare their git blob SHA-1 (the Hub stores such files in git, ≤ 10 MB). */
export const HUB_MAX_GIT_BLOB = 10 * 1024 * 1024;

/** History import: largest export file accepted, and entries in it. */
export const HISTORY_IMPORT_MAX_BYTES = 256 * 1024 * 1024;
export const HISTORY_MAX_ENTRIES = 10_000;

/** Share link: characters of the `#r=` fragment written (chat apps and browsers keep URLs of this size), and bytes a decoded one may inflate to. */
export const SHARE_LINK_MAX_CHARS = 8_000;
export const SHARE_LINK_MAX_INFLATED = 256 * 1024;

// ---- weight statistics (src/core/stats) ----

/** Elements decoded and reduced at a time: small enough that the two passes over a window stay in cache. */
export const STATS_WINDOW = 64 * 1024;

/** Bins of the robust-range histogram kept per tensor. */
export const STATS_HIST_BINS = 64;

/** Row / column norms are accumulated only for matrices with at most this many rows / columns. */
export const STATS_MAX_ROWS = 1 << 20;
export const STATS_MAX_COLS = 1 << 16;

/** Norms kept one by one in the report (larger matrices keep a summary and the top entries). */
export const STATS_MAX_NORMS_KEPT = 256;

/** Indices kept per kind of evidence (zero rows, single-entry columns, ...). */
export const STATS_MAX_INDICES = 32;

/** Duplicate-row groups, and rows per group, kept. */
export const STATS_MAX_DUP_GROUPS = 16;

/** Slots of the bounded heavy-hitter table for repeated values (Misra–Gries style, per tensor). */
export const STATS_REPEAT_SLOTS = 4096;

/** Repeated values reported per tensor. */
export const STATS_MAX_REPEATS = 8;

/** Largest tensor whose values the weight signatures read whole (by range) for exact structure checks. */
export const SIGNATURE_MAX_ELEMENTS = 16 * 1024 * 1024;

/** Total elements the weight signatures read over one inspection. */
export const SIGNATURE_MAX_TOTAL_ELEMENTS = 256 * 1024 * 1024;

/** Spectral metrics: every eigenvalue of the Gram matrix (and so α) when min(rows, cols) is at most this. */
export const SPECTRAL_EXACT_MAX = 512;

/** Spectral metrics: matrices larger than this (elements) get no spectral metrics. */
export const SPECTRAL_MAX_ELEMENTS = 16 * 1024 * 1024;

/** Spectral metrics: matrices analysed per inspection. */
export const SPECTRAL_MAX_MATRICES = 64;

/**
 * Spectral metrics: multiply-adds spent per inspection (~1.5 s of one core here). Matrices are analysed
 * in the order of the layers until the next one would not fit; counting work instead of time keeps a
 * report the same on every machine.
 */
export const SPECTRAL_MAX_WORK = 1.5e9;

// ---- ONNX (src/core/formats/onnx): the protobuf is walked lazily through ranged reads ----

/** ONNX: bytes fetched per ranged read while walking the protobuf (raw_data and other large fields are skipped, never read). */
export const ONNX_READ_CHUNK = 1024 * 1024;

/** ONNX: nesting depth of subgraphs (If/Loop/Scan bodies, GRAPH/GRAPHS attributes); real models nest a few levels. */
export const ONNX_MAX_GRAPH_DEPTH = 32;

/** ONNX: nodes over the whole model, all subgraphs and functions included (the largest LLM exports have ~100k). */
export const ONNX_MAX_NODES = 5_000_000;

/** ONNX: longest single string kept (names, doc strings, metadata values); longer ones keep a preview. */
export const ONNX_MAX_STRING = 1024 * 1024;

/** ONNX: total string bytes kept over one file: caps memory for a graph made of huge names. */
export const ONNX_MAX_STRING_BYTES = 256 * 1024 * 1024;

/** ONNX: values of one INTS/FLOATS/STRINGS attribute listed one by one; longer lists are summarised. */
export const ONNX_MAX_ATTR_VALUES = 65_536;

/** ONNX: inputs, outputs and attributes of one node, and inputs/outputs of one graph. */
export const ONNX_MAX_NODE_FIELDS = 1_000_000;

// ---- canary probes (src/core/probes, THREATS.md §8) ----

/** Largest ONNX model read whole for the runtime (a WASM heap holds ~4 GB; two copies live while probing). */
export const PROBE_MAX_MODEL_BYTES = 1024 * 1024 * 1024;

/** Nodes of the main graph walked by the probes' protobuf reader (large language models have ~10^4). */
export const PROBE_MAX_GRAPH_NODES = 1_000_000;

/** Examples synthesised per probe kind (image, audio, tokens, noise...). */
export const PROBE_EXAMPLES_PER_KIND = 32;

/** Examples fed per run when the batch dimension is free. */
export const PROBE_BATCH = 8;

/** Elements one synthesised input may have (caps memory for a model declaring a huge fixed shape). */
export const PROBE_MAX_INPUT_ELEMENTS = 16 * 1024 * 1024;

/** Intermediate tensors exposed as extra outputs for the activation sweep. */
export const PROBE_MAX_EXPOSED = 256;

/** Elements of exposed activations kept per run (all exposed tensors together). */
export const PROBE_MAX_ACTIVATION_ELEMENTS = 64 * 1024 * 1024;

/** Hidden units per layer whose activation statistics are kept. */
export const PROBE_MAX_UNITS = 65_536;

/** Elements of a weight matrix read for gains and the latch test. */
export const PROBE_MAX_WEIGHT_ELEMENTS = 64 * 1024 * 1024;

/** Layers of an MLP stack the latch test simulates. */
export const PROBE_MAX_LAYERS = 64;

/** Runs of the whole probe suite per model (basic, sweep and trigger together), against a hang in a huge model. */
export const PROBE_MAX_RUNS = 2_000;

/**
 * Activation sweep: a unit firing on at most this share of some natural probe kind counts as dormant
 * (THREATS.md §8). Not 0: a trap's bias sits on the tail of the *training* distribution, and synthetic
 * probes only approximate it (planted 99.7 % tails fire on 0–6 % of our image probes).
 */
export const PROBE_DORMANT_RATE = 0.1;

/** Activation sweep: outgoing gain, as a multiple of the layer median, that makes a dormant unit a trap (THREATS.md §7: ≥ 50×). */
export const PROBE_TRAP_GAIN = 50;

/** Latch test: bias step, as a multiple of the layer's median step, that counts as a latch (THREATS.md §8: ≥ 100×). */
export const PROBE_LATCH_RATIO = 100;

/** Latch test: SGD step size of the simulated fine-tuning step. */
export const PROBE_LATCH_LR = 0.01;

/** Latch test: vertex canaries (the input that excites one first-layer unit most) simulated at most. */
export const PROBE_LATCH_MAX_VERTEX_CANARIES = 512;

/** Trigger sweep: share of probes that must flip to one class under a patch (THREATS.md §8 "most inputs"). */
export const PROBE_TRIGGER_FLIP_RATE = 0.8;

/** Trigger sweep: clean predictions count as diverse when no class takes more than this share of probes. */
export const PROBE_TRIGGER_MAX_CLEAN_SHARE = 0.8;

/** Trigger sweep: probes not already in the target class needed before a flip rate means anything. */
export const PROBE_TRIGGER_MIN_ELIGIBLE = 8;

/** Hugging Face folders holding the weights twice: copies up to this size (each) are compared value by value. */
export const TWIN_COMPARE_MAX_BYTES = 4 * 1024 * 1024 * 1024;

/** Statistics of deflated zip members (npz from savez_compressed, deflated .keras): inflated bytes read per inspection. */
export const DEFLATED_STATS_MAX_BYTES = 1024 * 1024 * 1024;
