/**
 * What an import in a pickle means, in three tiers (THREATS.md §1): dangerous (executes code, spawns
 * processes, opens files or sockets, loads native code, imports modules, deserialises again), known
 * safe (PyTorch's `weights_only` allow-list, NumPy array reconstruction, plain builtins, common
 * training-argument classes) and unknown (everything else: shown, never hidden).
 *
 * Matching rules, each one a bypass of a public scanner (THREATS.md §10): aliases are normalised first
 * (Python 2 names, `posix`/`nt` → `os`, as CPython's `_compat_pickle` and the OS do); a module matches
 * when it or any parent is listed; protocol-4 names are dotted attribute paths resolved by
 * `getattr` chains, so every component counts (`pathlib` + `os.system` reaches `os.system`); any dunder
 * component (`__globals__`, `__subclasses__`, ...) is reach into interpreter internals.
 */

export type ImportTier = 'dangerous' | 'safe' | 'unknown';

export interface ImportVerdict {
  tier: ImportTier;
  /** normalised dotted path the loader resolves */
  resolved: string;
  /** why, in plain words (what a loader would do) */
  reason: string;
  /** the rule that matched (a family, a name, `dunder`, ...), for evidence */
  rule?: string;
}

/** Python 2 and OS-specific module names → the module a loader ends up importing. */
const MODULE_ALIASES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  posix: 'os',
  nt: 'os',
  copy_reg: 'copyreg',
  httplib: 'http.client',
  urllib2: 'urllib.request',
  urlparse: 'urllib.parse',
  cPickle: 'pickle',
  _pickle: 'pickle',
  cStringIO: 'io',
  StringIO: 'io',
  _io: 'io',
  thread: '_thread',
  commands: 'subprocess',
  SocketServer: 'socketserver',
  xmlrpclib: 'xmlrpc.client',
  SimpleXMLRPCServer: 'xmlrpc.server',
  BaseHTTPServer: 'http.server',
  SimpleHTTPServer: 'http.server',
  CGIHTTPServer: 'http.server',
  Cookie: 'http.cookies',
  cookielib: 'http.cookiejar',
  Queue: 'queue',
  UserDict: 'collections',
  UserList: 'collections',
  dummy_thread: '_thread',
  _dummy_thread: '_thread',
  ConfigParser: 'configparser',
  repr: 'reprlib',
  __main__: '__main__',
  // the pure-Python io and the frozen copies of importlib's bootstrap are the same modules under other names
  _pyio: 'io',
  _frozen_importlib: 'importlib._bootstrap',
  _frozen_importlib_external: 'importlib._bootstrap_external',
};

/**
 * Module families: the module and every submodule are dangerous (THREATS.md §1, verbatim, plus the
 * alias targets above).
 */
const DANGEROUS_MODULES: readonly string[] = [
  'os', 'sys', 'subprocess', '_posixsubprocess', 'pty', 'commands', 'multiprocessing', 'threading', '_thread',
  'signal', 'runpy', 'code', 'codeop', 'marshal', 'types', 'importlib', '_imp', 'imp', 'zipimport', 'pkgutil',
  'inspect', 'site', 'compileall', 'py_compile', '_operator', 'pickle', '_pickle', 'cPickle', 'dill',
  'cloudpickle', 'shelve', 'ctypes', '_ctypes', 'mmap', 'socket', 'ssl', 'select', 'http', 'httplib', 'urllib',
  'urllib2', 'requests', 'aiohttp', 'webbrowser', 'smtplib', 'imaplib', 'ftplib', 'poplib', 'telnetlib',
  'nntplib', 'xmlrpc', 'socketserver', 'asyncio', 'shutil', 'tempfile', 'tarfile', 'zipfile', 'sqlite3', 'glob',
  'fileinput', 'linecache', 'logging.config', 'logging.handlers', 'syslog', 'distutils', 'pdb', 'bdb',
  'cProfile', 'profile', 'trace', 'timeit', 'doctest', 'pydoc', 'idlelib', 'lib2to3', 'unittest', 'test',
  'pexpect', 'pipes', '_pyrepl', '_osx_support', '_aix_support', 'pip', 'ensurepip', 'venv', 'torch.hub',
  'torch._dynamo', 'torch._inductor', 'torch.jit', 'torch.compiler', 'numpy.testing', 'numpy.f2py',
  'numpy.distutils', 'fickling', 'picklescan', 'modelscan', 'modelaudit', 'torch.distributed.rpc',
  // same capabilities under other names
  'posixpath.os', 'ntpath.os', 'nturl2path', 'asynchat', 'asyncore', 'smtpd', 'cgi', 'cgitb', 'crypt',
  'sysconfig', 'zipapp', '_winapi', 'msvcrt', 'winreg', '_winreg',
];

/**
 * Broader families, matched only when no narrower module or name rule matched (so `pathlib` + `os.system`
 * is reported as reaching `os`, and `torch.serialization.load` as the loader it is).
 */
const BROAD_DANGEROUS_MODULES: readonly string[] = [
  // build and packaging tools: they run setup scripts, compilers and processes (setuptools vendors distutils)
  'setuptools', 'pkg_resources',
  // modules whose purpose is opening, creating or fetching files (the known-safe path classes stay safe)
  'pathlib', 'gzip', 'bz2', 'lzma', 'dbm', 'numpy.lib.format', 'numpy.lib.npyio', 'numpy.lib._datasource',
  // native code, processes, (de)serialisation and code generation inside torch and numpy
  'numpy.ctypeslib', 'torch.serialization', 'torch.package', 'torch.fx.graph_module', 'torch.utils.cpp_extension',
  'torch.multiprocessing',
  // uuid's node lookups run ifconfig/ip/arp/netstat (any command name through _find_mac_*); importing
  // antigravity opens a web browser
  'uuid', 'antigravity',
];

/** Single names: `module` matches the module or any submodule, `name` exactly. */
const DANGEROUS_NAMES: readonly [string, string][] = [
  ['builtins', 'eval'], ['builtins', 'exec'], ['builtins', 'execfile'], ['builtins', 'compile'], ['builtins', 'open'],
  ['builtins', 'file'], ['builtins', 'input'], ['builtins', 'raw_input'], ['builtins', 'breakpoint'],
  ['builtins', 'getattr'], ['builtins', 'setattr'], ['builtins', 'delattr'], ['builtins', 'apply'],
  ['builtins', '__import__'], ['builtins', 'reload'], ['builtins', 'globals'], ['builtins', 'locals'],
  ['builtins', 'vars'], ['builtins', 'help'], ['builtins', 'memoryview'],
  ['operator', 'attrgetter'], ['operator', 'itemgetter'], ['operator', 'methodcaller'], ['operator', 'call'],
  ['functools', 'partial'], ['functools', 'partialmethod'], ['functools', 'reduce'],
  ['io', 'FileIO'], ['io', 'open'], ['io', 'open_code'], ['logging', 'FileHandler'], ['uuid', '_get_command_stdout'],
  ['torch', 'load'], ['torch.serialization', 'load'], ['torch.storage', '_load_from_bytes'],
  ['torch.utils.collect_env', 'run'], ['torch.utils.cpp_extension', 'load'], ['torch.utils.cpp_extension', 'load_inline'],
  ['torch', 'load_library'], ['torch._C', '_jit_script_compile'], ['torch', 'from_file'], ['torch', 'save'],
  ['torch._C', 'import_ir_module'], ['torch._C', 'import_ir_module_from_buffer'], ['torch._C', '_load_for_lite_interpreter'],
  ['torch._C', '_load_jit_module_from_bytes'], ['torch._C', '_load_jit_module_from_file'],
  ['numpy', 'tofile'], ['numpy', 'dump'], ['numpy', 'save'], ['numpy', 'savez'], ['numpy', 'savez_compressed'],
  ['numpy', 'savetxt'], ['numpy', 'genfromtxt'], ['numpy', 'fromregex'], ['numpy', 'open'],
  ['numpy', 'load'], ['numpy', 'loadtxt'], ['numpy', 'fromfile'], ['numpy', 'memmap'], ['joblib', 'load'],
  ['pandas', 'read_pickle'], ['pandas', 'read_csv'], ['pandas', 'eval'], ['keras', 'utils.get_file'],
  ['keras.utils', 'get_file'], ['tensorflow.keras.utils', 'get_file'], ['tensorflow', 'io.read_file'],
  ['tensorflow.io', 'read_file'], ['tensorflow.io', 'write_file'], ['tensorflow.io.gfile', 'GFile'],
  ['codecs', 'open'], ['pathlib', 'Path.open'], ['pathlib', 'Path.write_text'], ['pathlib', 'Path.write_bytes'],
];

/** Exact `module.name` entries PyTorch's weights_only unpickler allows (torch/_weights_only_unpickler.py). */
const WEIGHTS_ONLY_EXACT = new Set<string>([
  'collections.OrderedDict', 'collections.Counter', 'torch.nn.parameter.Parameter', 'torch.nn.parameter.Buffer',
  'torch.serialization._get_layout', 'torch.Size', 'torch.Tensor', 'torch.device', 'torch.dtype',
  'torch._tensor._rebuild_from_type_v2', 'torch._tensor._rebuild_from_type', 'torch.storage.TypedStorage',
  'torch.storage.UntypedStorage', 'torch.UntypedStorage', 'torch.TypedStorage', '_codecs.encode', 'builtins.set',
  'builtins.frozenset', 'builtins.bytearray', 'builtins.complex', 'builtins.slice', 'builtins.range',
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state', 'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor', 'torch._utils._rebuild_sparse_csr_tensor', 'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_nested_tensor', 'torch._utils._rebuild_wrapper_subclass', 'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
]);

/** torch scalar types, layouts, memory formats and quantisation schemes pickled as `torch.<name>`. */
const TORCH_CONSTANTS = new Set<string>([
  'float', 'double', 'half', 'bfloat16', 'float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8',
  'uint16', 'uint32', 'uint64', 'bool', 'complex32', 'complex64', 'complex128', 'cfloat', 'cdouble', 'chalf', 'long', 'int',
  'short', 'qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz',
  'float8_e5m2fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2', 'bits8', 'bits16', 'strided', 'sparse_coo', 'sparse_csr', 'sparse_csc',
  'sparse_bsr', 'sparse_bsc', '_mkldnn', 'jagged', 'contiguous_format', 'channels_last', 'channels_last_3d', 'preserve_format',
  'per_tensor_affine', 'per_channel_affine', 'per_tensor_symmetric', 'per_channel_symmetric', 'per_channel_affine_float_qparams',
]);

/** Beyond weights_only: NumPy reconstruction, plain builtins, standard value types, training arguments. */
const SAFE_EXACT = new Set<string>([
  'collections.defaultdict', 'collections.deque', 'collections.namedtuple_reconstruct',
  'copyreg._reconstructor', 'copyreg.__newobj__', 'copyreg.__newobj_ex__', 'copyreg._reconstruct',
  'builtins.object', 'builtins.int', 'builtins.float', 'builtins.str', 'builtins.bytes', 'builtins.bool', 'builtins.list',
  'builtins.dict', 'builtins.tuple', 'builtins.NoneType', 'builtins.Ellipsis', 'builtins.NotImplemented',
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar', 'numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer', 'numpy.ndarray',
  'numpy.dtype', 'numpy.ma.core._mareconstruct', 'numpy.ma.core.MaskedArray', 'numpy.core.multiarray.ndarray',
  'numpy.random._pickle.__randomstate_ctor', 'numpy.random._pickle.__generator_ctor', 'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random.mtrand.RandomState', 'numpy.random._generator.Generator', 'numpy.random._mt19937.MT19937',
  'numpy.random._pcg64.PCG64', 'numpy.random._pcg64.PCG64DXSM', 'numpy.random._philox.Philox', 'numpy.random._sfc64.SFC64',
  'numpy.random.bit_generator.SeedSequence', 'numpy.random.mtrand.__RandomState_ctor',
  'joblib.numpy_pickle.NumpyArrayWrapper', 'joblib.numpy_pickle_compat.NDArrayWrapper',
  'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone', 'decimal.Decimal',
  'fractions.Fraction', 'uuid.UUID', 'uuid.SafeUUID', 'argparse.Namespace', 'pathlib.PosixPath', 'pathlib.WindowsPath', 'pathlib.PurePosixPath',
  'pathlib.PureWindowsPath', 'pathlib.Path', 'pathlib.PurePath',
  // Python 3.13 moved the path classes to pathlib._local, and pickles name them there
  'pathlib._local.Path', 'pathlib._local.PosixPath', 'pathlib._local.WindowsPath', 'pathlib._local.PurePath',
  'pathlib._local.PurePosixPath', 'pathlib._local.PureWindowsPath',
  'enum.Enum',
  'transformers.training_args.TrainingArguments', 'transformers.training_args_seq2seq.Seq2SeqTrainingArguments',
  'transformers.trainer_utils.IntervalStrategy', 'transformers.trainer_utils.SchedulerType', 'transformers.trainer_utils.HubStrategy',
  'transformers.trainer_utils.SaveStrategy', 'transformers.trainer_utils.EvaluationStrategy', 'transformers.training_args.OptimizerNames',
  'transformers.debug_utils.DebugOption', 'transformers.utils.generic.PaddingStrategy', 'transformers.trainer_callback.TrainerState',
  'accelerate.utils.dataclasses.DistributedType', 'accelerate.state.PartialState',
  'torch.optim.lr_scheduler.LambdaLR', 'torch.torch_version.TorchVersion', 'torch.nn.modules.container.ParameterDict',
]);

/** NumPy scalar types pickled by name (`numpy.float32`, ...). */
const NUMPY_SCALARS = /^numpy\.(float(16|32|64|128)?|int(8|16|32|64)?|uint(8|16|32|64)?|bool_?|complex(64|128|256)?|longlong|ulonglong|intc|uintc|half|single|double|longdouble|bytes_|str_|void|datetime64|timedelta64|dtypes\.\w+DType)$/;

const isDunder = (c: string) => c.length > 4 && c.startsWith('__') && c.endsWith('__');

/** Dunder module components that name real modules, not attribute reach. */
const DUNDER_MODULES = new Set(['__main__', '__builtin__', '__future__', '__mp_main__']);

export function normaliseModule(module: string): string {
  const parts = module.split('.');
  const first = MODULE_ALIASES[parts[0]];
  if (first) parts[0] = first;
  const joined = parts.join('.');
  return MODULE_ALIASES[joined] ?? joined;
}

/**
 * `_x.rest` → `x.rest` when `_x` is not itself a listed name: CPython's accelerator modules (`_socket`,
 * `_signal`, `_functools`, `_sqlite3`, ...) are the same capability as the public module, and stdlib modules
 * import others under private aliases (`random._os`, `collections._sys`, `setuptools._distutils`), so an
 * attribute path through `_os` reaches `os`. Null when the first component has no single private prefix.
 */
export function publicTwin(path: string): string | null {
  const m = /^_([A-Za-z0-9][A-Za-z0-9_]*)(\..*)?$/.exec(path);
  if (!m || m[1].endsWith('__')) return null;
  return normaliseModule(m[1] + (m[2] ?? ''));
}

function familyOf(path: string, families: readonly string[] = DANGEROUS_MODULES): string | null {
  for (const m of families) if (path === m || path.startsWith(`${m}.`)) return m;
  return null;
}

function dangerousName(module: string, name: string): string | null {
  for (const [m, n] of DANGEROUS_NAMES) {
    if ((module === m || module.startsWith(`${m}.`)) && (name === n || name.startsWith(`${n}.`))) return `${m}.${n}`;
  }
  return null;
}

/** Is `module.name` exactly on the weights_only allow-list (the "plain state_dict" tier)? */
export function isWeightsOnlyGlobal(module: string, name: string): boolean {
  const m = normaliseModule(module);
  const full = `${m}.${name}`;
  if (WEIGHTS_ONLY_EXACT.has(full)) return true;
  if ((m === 'torch' || m === 'torch.cuda') && /^[A-Za-z0-9_]*Storage$/.test(name)) return true;
  if (m === 'torch' && TORCH_CONSTANTS.has(name)) return true;
  return false;
}

export interface ClassifyOptions {
  /** extra module prefixes treated as known (TorchScript's `__torch__` classes, `torch.jit._pickle` helpers) */
  extraSafeModules?: readonly string[];
}

/**
 * Classifies one import `module` + `name` (name may be a dotted path, protocol 4). Pure and cheap.
 */
export function classifyImport(module: string, name: string, opts: ClassifyOptions = {}): ImportVerdict {
  const mod = normaliseModule(module);
  const resolved = `${mod}.${name}`;
  const modParts = mod.split('.');
  const nameParts = name.split('.');
  const extra = opts.extraSafeModules ?? [];
  const extraSafe = extra.some((p) => mod === p || mod.startsWith(`${p}.`));

  if (isWeightsOnlyGlobal(mod, name) || SAFE_EXACT.has(resolved) || NUMPY_SCALARS.test(resolved)) {
    return { tier: 'safe', resolved, reason: 'on the known-safe list (PyTorch weights_only, NumPy reconstruction or plain values)' };
  }
  // Dunder reach: `builtins` + `eval.__call__`, `torch` + `Tensor.__reduce_ex__.__globals__`, ...
  const dunderName = nameParts.find(isDunder);
  const dunderModule = modParts.find((c) => isDunder(c) && !DUNDER_MODULES.has(c) && !(extraSafe && c === '__torch__'));
  if (dunderName || dunderModule) {
    return {
      tier: 'dangerous',
      resolved,
      rule: 'dunder',
      reason: `the path reaches the interpreter-internal attribute "${dunderName ?? dunderModule}", the classic route from any object to eval, os and the builtins`,
    };
  }
  // Names the format itself resolves (TorchScript classes and helpers) never reach Python's importer.
  if (extraSafe) return { tier: 'safe', resolved, reason: 'a class or helper the format itself defines' };
  // Every component counts: the loader resolves `a.b.c` by getattr from the module, so any suffix
  // starting at the module or at a name component can name a dangerous module or function.
  const all = [...modParts, ...nameParts];
  const starts = [0];
  for (let s = modParts.length; s < all.length; s++) starts.push(s);
  for (const families of [DANGEROUS_MODULES, BROAD_DANGEROUS_MODULES]) {
    const broad = families === BROAD_DANGEROUS_MODULES;
    for (const s of starts) {
      for (let e = s + 1; e <= all.length; e++) {
        const path = all.slice(s, e).join('.');
        const norm = normaliseModule(path);
        const twin = publicTwin(norm);
        const fam = familyOf(norm, families) ?? (twin ? familyOf(twin, families) : null);
        if (fam) {
          return {
            tier: 'dangerous',
            resolved,
            rule: fam,
            reason: `it reaches the ${fam} module${s > 0 ? ` through the attribute path ${name}` : ''}, which can execute code, run processes, open files or sockets, or load code`,
          };
        }
        if (e < all.length && !broad) {
          const rest = all.slice(e).join('.');
          const n = dangerousName(norm, rest) ?? (twin ? dangerousName(twin, rest) : null);
          if (n) return { tier: 'dangerous', resolved, rule: n, reason: describeName(n) };
        }
      }
    }
  }
  return { tier: 'unknown', resolved, reason: 'neither on the known-safe list nor a known-dangerous name: importing it runs that module\'s code, and calling it runs whatever it does' };
}

function describeName(n: string): string {
  if (/^builtins\.(eval|exec|execfile|compile)$/.test(n)) return `${n} executes arbitrary Python code`;
  if (/__import__|reload$/.test(n)) return `${n} imports arbitrary modules`;
  if (/getattr|setattr|delattr|globals|locals|vars/.test(n)) return `${n} reaches or changes arbitrary attributes and namespaces, the usual first step to os.system`;
  if (/open|FileIO|FileHandler|file$|read_file|write_file|GFile|write_text|write_bytes|fromfile|memmap|loadtxt|read_csv/.test(n)) return `${n} opens files on the loading machine`;
  if (/load|read_pickle|_load_from_bytes/.test(n)) return `${n} deserialises another payload (a second unpickling with no checks)`;
  if (/attrgetter|itemgetter|methodcaller|operator\.call|partial|reduce/.test(n)) return `${n} builds calls and attribute lookups indirectly, hiding which function really runs`;
  if (/get_file/.test(n)) return `${n} downloads files from the network`;
  if (/_get_command_stdout|collect_env\.run/.test(n)) return `${n} runs shell commands`;
  if (/cpp_extension|load_library/.test(n)) return `${n} compiles or loads native code`;
  return `${n} is on the known-dangerous list`;
}
