import type { ByteSource } from '../../io/byte-source';
import { MemorySource } from '../../io/byte-source';
import { isAbortError } from '../../io/errors';
import { PICKLE_MAX_NESTED_PAYLOADS, PICKLE_NESTED_MAX_BYTES, PICKLE_NESTED_MAX_DEPTH } from '../../io/limits';
import type { Finding, Severity, Category } from '../../report/finding';
import {
  decodeBase64,
  decodeHex,
  emulatePickle,
  emulatePickleSource,
  type NestedCandidate,
  type PickleAnomalyCode,
  type PickleEmulation,
  type PickleRegion,
} from './emulate';
import { classifyImport, isWeightsOnlyGlobal, normaliseModule, type ClassifyOptions, type ImportTier } from './policy';
import { formatValue, itemsOf, strOf, type PickleOpName, type PickleValue } from './value';

/** Which loader reads the pickle: only changes the wording of findings and a few known names. */
export type PickleContext = 'pickle' | 'torch' | 'torchscript' | 'npy' | 'joblib' | 'nested';

export interface ScanPickleOptions {
  /** file (relative path in the model folder) the findings are about */
  file?: string;
  /** absolute offset of `bytes[0]` in `file` */
  baseOffset?: number;
  /** nesting depth of this payload (0 = the file itself) */
  depth?: number;
  context?: PickleContext;
  /** where the pickle sits, for the wording: e.g. `zip member "archive/data.pkl"` */
  label?: string;
  /** see EmulateOptions */
  maxPickles?: number;
  scanTrailing?: boolean;
  region?: PickleRegion;
  /**
   * Every finding gets this offset (a payload decoded from base64/hex has no byte-for-byte position in
   * the file; its own offsets go to `evidence.payloadOffset`).
   */
  fixedOffset?: number;
  /** the file, for reading nested payloads that were not in memory (windowed emulation) */
  source?: ByteSource;
  signal?: AbortSignal;
}

export interface PickleScanResult {
  findings: Finding[];
  emulation: PickleEmulation;
  /**
   * Only PyTorch weights_only globals and opcodes, well-formed persistent ids, no anomalies: what
   * `torch.load(weights_only=True)` would accept, the strongest low-noise signal (THREATS.md §1).
   */
  plain: boolean;
  /** distinct imports per tier */
  tiers: Record<ImportTier, string[]>;
}

/** Opcodes PyTorch's weights_only unpickler executes (torch/_weights_only_unpickler.py, load()). */
const WEIGHTS_ONLY_OPS = new Set<PickleOpName>([
  'PROTO', 'STOP', 'FRAME', 'GLOBAL', 'STACK_GLOBAL', 'NEWOBJ', 'REDUCE', 'BUILD', 'APPEND', 'APPENDS', 'SETITEM',
  'SETITEMS', 'MARK', 'TUPLE', 'TUPLE1', 'TUPLE2', 'TUPLE3', 'EMPTY_TUPLE', 'EMPTY_LIST', 'EMPTY_DICT', 'EMPTY_SET',
  'ADDITEMS', 'BINPERSID', 'BININT', 'BININT1', 'BININT2', 'BINFLOAT', 'BINUNICODE', 'SHORT_BINUNICODE',
  'BINUNICODE8', 'SHORT_BINSTRING', 'BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'NONE', 'NEWTRUE', 'NEWFALSE',
  'LONG1', 'LONG4', 'BINGET', 'LONG_BINGET', 'BINPUT', 'LONG_BINPUT', 'MEMOIZE',
]);

const LOADER: Record<PickleContext, string> = {
  pickle: 'pickle.load (and joblib.load, pandas.read_pickle, torch.load without weights_only)',
  torch: 'torch.load (with weights_only=False, the default before PyTorch 2.6)',
  torchscript: 'torch.jit.load',
  npy: 'numpy.load(allow_pickle=True)',
  joblib: 'joblib.load',
  nested: 'whatever unpickles this embedded payload',
};

/** Anomaly code → finding severity and category (THREATS.md §1 "Structure that a normal torch.save never produces"). */
const ANOMALY_CLASS: Record<PickleAnomalyCode, [Severity, Category, string]> = {
  'invalid-opcode': ['error', 'malformed', 'The pickle stream is broken (invalid opcode)'],
  truncated: ['error', 'malformed', 'The pickle stream is truncated'],
  'no-stop': ['error', 'malformed', 'The pickle stream has no STOP'],
  'stack-underflow': ['error', 'malformed', 'The pickle pops more values than it pushed'],
  'mark-missing': ['error', 'malformed', 'The pickle closes a MARK it never opened'],
  'missing-memo': ['error', 'malformed', 'The pickle reads memo slots it never wrote'],
  'bad-protocol': ['error', 'malformed', 'The pickle declares a protocol that does not exist'],
  'bad-operand': ['warning', 'malformed', 'The pickle has malformed opcode operands'],
  'bad-call-args': ['error', 'malformed', 'A call in the pickle has no argument tuple'],
  'proto-repeated': ['warning', 'malformed', 'A second PROTO opcode mid-stream'],
  'frame-mismatch': ['warning', 'malformed', 'Pickle FRAME lengths disagree with the bytes'],
  'ext-opcode': ['warning', 'unknown-import', 'The pickle imports through the copyreg extension registry (EXT)'],
  'build-on-global': ['warning', 'code-execution', 'The pickle sets attributes on a module, class or function'],
  'setitem-on-global': ['warning', 'code-execution', 'The pickle stores items into a module, class or function'],
  'append-on-global': ['warning', 'code-execution', 'The pickle appends to a module, class or function'],
  'out-of-band-buffer': ['warning', 'malformed', 'The pickle expects out-of-band buffers'],
  'trailing-data': ['warning', 'malformed', 'Bytes follow the end of the pickle'],
  'limit-exceeded': ['warning', 'malformed', 'The pickle exceeds an emulation limit'],
  'expansion-bomb': ['warning', 'malformed', 'The pickle is an expansion (memory) bomb'],
  'joblib-array': ['warning', 'malformed', 'A joblib array in the pickle could not be stepped over'],
};

const REGION_NOTE: Record<PickleRegion, string> = {
  stream: '',
  'after-stop': ' It sits in a further pickle after the first STOP, which loaders that read several pickles (or a later pickle.load on the same file) run.',
  'after-break': ' It sits after a deliberately broken part of the stream, where scanners that stop at the first error never look.',
  'joblib-object-array': ' It sits in the pickle joblib stores for an object array, which joblib.load runs.',
};

interface Ctx {
  file?: string;
  context: PickleContext;
  label: string;
  classify: ClassifyOptions;
  findings: Finding[];
}

/** Tier of whatever a call's callee ultimately comes from (the root import), for chained calls. */
function rootTier(v: PickleValue, c: Ctx, depth = 0): ImportTier | 'literal' | 'unresolved' {
  if (depth > 64) return 'unresolved';
  switch (v.kind) {
    case 'global':
      return classifyImport(v.module, v.name, c.classify).tier;
    case 'call':
      return rootTier(v.callee, c, depth + 1);
    case 'persid':
    case 'ext':
    case 'missing':
    case 'buffer':
      return 'unresolved';
    default:
      return 'literal';
  }
}

function isGetattr(v: PickleValue): boolean {
  return v.kind === 'global' && normaliseModule(v.module) === 'builtins' && v.name === 'getattr';
}

/**
 * A storage persistent id as torch.save writes it: ('storage', <torch *Storage>, key:str, location:str,
 * numel:int) in zip checkpoints and TorchScript, plus a 6th view_metadata (None or a tuple) in the
 * legacy format (torch/serialization.py `persistent_id`).
 */
export function isStoragePersistentId(pid: PickleValue): boolean {
  const t = pid.kind === 'tuple' ? pid.items : null;
  if (!t || (t.length !== 5 && t.length !== 6)) return false;
  const [tag, type, key, loc, numel] = t;
  if (strOf(tag) !== 'storage') return false;
  if (type.kind !== 'global' || !/Storage$/.test(type.name) || !isWeightsOnlyGlobal(type.module, type.name)) return false;
  if (strOf(key) === null || strOf(loc) === null) return false;
  if (numel.kind !== 'int' || numel.value < 0) return false;
  if (t.length === 6 && t[5].kind !== 'none' && t[5].kind !== 'tuple') return false;
  return true;
}

/**
 * Turns an emulation into findings (policy, calls, structure). Synchronous; nested payloads are
 * collected for the caller to scan.
 */
export function analyseEmulation(em: PickleEmulation, opts: ScanPickleOptions = {}): Omit<PickleScanResult, 'emulation'> & { nested: NestedCandidate[] } {
  const context = opts.context ?? 'pickle';
  const c: Ctx = {
    file: opts.file,
    context,
    label: opts.label ?? (opts.file ? `"${opts.file}"` : 'the pickle'),
    classify: context === 'torchscript' ? { extraSafeModules: ['__torch__', 'torch.jit._pickle', 'torch.classes'] } : {},
    findings: [],
  };
  const loader = LOADER[context];
  const tiers: Record<ImportTier, string[]> = { dangerous: [], safe: [], unknown: [] };
  const seenTier = new Set<string>();
  let plain = em.pickles.length > 0;

  // Calls per import (by import index), and getattr calls checked one by one.
  const callsByImport = new Map<number, typeof em.calls>();
  const getattrFindings: Finding[] = [];
  for (const call of em.calls) {
    const callee = call.value.callee;
    if (callee.kind === 'global' && callee.ref >= 0) {
      const list = callsByImport.get(callee.ref) ?? [];
      if (list.length < 16) list.push(call);
      callsByImport.set(callee.ref, list);
    }
    if (isGetattr(callee)) {
      const f = checkGetattr(call, c, loader);
      if (f) getattrFindings.push(f);
    } else if (callee.kind !== 'global') {
      plain = false;
      const tier = rootTier(callee, c);
      if (tier === 'unresolved' && call.region !== 'after-break') {
        c.findings.push({
          id: 'pickle/unresolved-call',
          category: 'unknown-import',
          severity: 'warning',
          title: `A call on a value the file does not define (${call.op})`,
          detail: `At byte ${call.offset} of ${c.label}, ${call.op} calls ${formatValue(callee, { maxChars: 120 })}, whose meaning is decided by the loader at load time (a persistent object, an extension-registry entry or a value the stream lost), not by the file. ${loader} would call it.`,
          file: c.file,
          offset: call.offset,
          evidence: { opcode: call.op, chain: formatValue(call.value, { maxChars: 300 }), pickle: call.pickle, region: call.region },
        });
      }
    }
  }

  // Imports grouped by resolved name and tier.
  const groups = new Map<string, { tier: ImportTier; reason: string; rule?: string; imports: number[]; resolved: string }>();
  em.imports.forEach((imp, idx) => {
    if (!imp.plain) {
      plain = false;
      c.findings.push({
        id: 'pickle/computed-import',
        category: 'code-execution',
        severity: 'dangerous',
        title: 'The pickle imports a name computed at load time',
        detail: `STACK_GLOBAL at byte ${imp.offset} of ${c.label} takes its module and name from ${imp.module} and ${imp.name} instead of plain strings, so what ${loader} imports is decided while loading, not written in the file. No honest writer does this; it hides the real import from scanners.${REGION_NOTE[imp.region]}`,
        file: c.file,
        offset: imp.offset,
        evidence: { opcode: imp.op, module: imp.module, name: imp.name, pickle: imp.pickle, region: imp.region },
      });
      return;
    }
    const v = classifyImport(imp.module, imp.name, c.classify);
    if (!isWeightsOnlyGlobal(imp.module, imp.name)) plain = false;
    const key = `${v.tier}\u0000${v.resolved}`;
    if (!seenTier.has(key)) {
      seenTier.add(key);
      tiers[v.tier].push(v.resolved);
    }
    const g = groups.get(key) ?? { tier: v.tier, reason: v.reason, rule: v.rule, imports: [], resolved: v.resolved };
    g.imports.push(idx);
    groups.set(key, g);
  });

  let unknownShown = 0;
  const unknownExtra: string[] = [];
  for (const g of groups.values()) {
    if (g.tier === 'safe') continue;
    const first = em.imports[g.imports[0]];
    const calls = g.imports.flatMap((i) => callsByImport.get(i) ?? []);
    const where = `${first.op} at byte ${first.offset}${g.imports.length > 1 ? ` (and ${g.imports.length - 1} more place${g.imports.length > 2 ? 's' : ''})` : ''}`;
    const evidence: Record<string, unknown> = {
      import: g.resolved,
      module: first.module,
      name: first.name,
      opcode: first.op,
      importOffset: first.offset,
      occurrences: g.imports.length,
      offsets: g.imports.slice(0, 16).map((i) => em.imports[i].offset),
      pickle: first.pickle,
      region: first.region,
      calls: calls.slice(0, 8).map((k) => ({ offset: k.offset, opcode: k.op, chain: formatValue(k.value, { maxChars: 300 }) })),
    };
    if (first.operandOffsets?.length) evidence.operandOffsets = first.operandOffsets;
    if (g.rule) evidence.rule = g.rule;
    if (g.tier === 'dangerous') {
      // builtins.getattr is checked call by call (checkGetattr): a verified bound-method lookup is the
      // documented exception, anything else was reported there. Only an import never called directly is left.
      if (g.resolved === 'builtins.getattr' && g.imports.every((i) => callsByImport.has(i))) continue;
      const called = calls.length > 0;
      const chain = called ? formatValue(calls[0].value, { maxChars: 200 }) : '';
      c.findings.push({
        id: called ? 'pickle/dangerous-call' : 'pickle/dangerous-import',
        category: 'code-execution',
        severity: 'dangerous',
        title: called ? `Loading calls ${g.resolved}` : `Loading imports ${g.resolved}`,
        detail: called
          ? `${loader} would import ${g.resolved} (${where}) and call it at byte ${calls[0].offset} (${calls[0].op}) as ${chain}: ${g.reason}.${REGION_NOTE[first.region]}`
          : `${loader} would import ${g.resolved} (${where}): ${g.reason}. Importing alone already runs module code and hands the object to the rest of the stream.${REGION_NOTE[first.region]}`,
        file: c.file,
        offset: called ? calls[0].offset : first.offset,
        evidence,
      });
    } else if (g.tier === 'unknown') {
      if (unknownShown >= 50) {
        unknownExtra.push(g.resolved);
        continue;
      }
      unknownShown++;
      c.findings.push({
        id: 'pickle/unknown-import',
        category: 'unknown-import',
        severity: 'warning',
        title: `Loading imports ${g.resolved}`,
        detail: `${loader} would import ${g.resolved} (${where})${calls.length ? ` and call it at byte ${calls[0].offset} (${calls[0].op})` : ''}. It is ${g.reason}. Check that you trust the code it names.${REGION_NOTE[first.region]}`,
        file: c.file,
        offset: first.offset,
        evidence,
      });
    }
  }
  if (unknownExtra.length) {
    c.findings.push({
      id: 'pickle/unknown-import',
      category: 'unknown-import',
      severity: 'warning',
      title: `${unknownExtra.length} more unknown imports`,
      detail: `${loader} would also import: ${unknownExtra.slice(0, 200).join(', ')}${unknownExtra.length > 200 ? ', …' : ''}.`,
      file: c.file,
      evidence: { imports: unknownExtra.slice(0, 1000) },
    });
  }
  c.findings.push(...getattrFindings);

  // Structure.
  const byCode = new Map<PickleAnomalyCode, typeof em.anomalies>();
  for (const a of em.anomalies) {
    const list = byCode.get(a.code) ?? [];
    list.push(a);
    byCode.set(a.code, list);
  }
  if (em.anomalies.length) plain = false;
  for (const [code, list] of byCode) {
    const [severity, category, title] = ANOMALY_CLASS[code];
    const a = list[0];
    c.findings.push({
      id: `pickle/${code}`,
      category,
      severity,
      title,
      detail: `${list.length > 1 ? `${list.length} times; first: ` : ''}${a.message} (in ${c.label}).`,
      file: c.file,
      offset: a.offset,
      evidence: { count: list.length, offsets: list.slice(0, 16).map((x) => x.offset), pickle: a.pickle, region: a.region },
    });
  }

  // Persistent ids: torch storages only.
  const odd = em.persistentIds.filter((p) => !isStoragePersistentId(p.pid));
  if (odd.length) {
    plain = false;
    c.findings.push({
      id: 'pickle/odd-persistent-id',
      category: 'malformed',
      severity: 'warning',
      title: 'Persistent ids that torch.save never writes',
      detail: `${odd.length} persistent id${odd.length > 1 ? 's' : ''} in ${c.label} ${odd.length > 1 ? 'are' : 'is'} not ('storage', type, key, location, numel); first at byte ${odd[0].offset}: ${formatValue(odd[0].pid, { maxChars: 160 })}. The loader's persistent_load decides what such an id becomes.`,
      file: c.file,
      offset: odd[0].offset,
      evidence: { count: odd.length, offsets: odd.slice(0, 16).map((p) => p.offset), first: formatValue(odd[0].pid, { maxChars: 300 }) },
    });
  }
  for (const op of em.opcodesUsed) if (!WEIGHTS_ONLY_OPS.has(op) && op !== 'PERSID') plain = false;
  if (em.opcodesUsed.includes('PERSID')) plain = false;
  if (em.pickles.some((p) => !p.stopped || p.region !== 'stream')) plain = false;
  if (em.limitHit) plain = false;

  // Nested payloads: sniffed constants plus the bytes handed to torch.storage._load_from_bytes.
  const nested = [...em.nested];
  for (const call of em.calls) {
    const callee = call.value.callee;
    if (callee.kind === 'global' && normaliseModule(callee.module) === 'torch.storage' && callee.name === '_load_from_bytes') {
      const arg = itemsOf(call.value.args)?.[0];
      if (arg && arg.kind === 'bytes' && !nested.some((n) => n.value === arg)) nested.push({ kind: 'pickle', encoding: 'raw', value: arg, pickle: call.pickle, region: call.region });
    }
  }
  return { findings: c.findings, plain, tiers, nested };
}

/**
 * builtins.getattr appears legitimately when a bound method is pickled (`getattr(obj, 'name')`): it is
 * safe only when the target is a known-safe object and the attribute a plain, non-dunder literal
 * (THREATS.md §1). On a global target, the reached path `module.name.attr` is classified like a dotted import.
 */
function checkGetattr(call: PickleScanResult['emulation']['calls'][number], c: Ctx, loader: string): Finding | null {
  const args = itemsOf(call.value.args) ?? [];
  const [target, attrV] = args;
  const attr = strOf(attrV);
  const chain = formatValue(call.value, { maxChars: 240 });
  const base = { file: c.file, offset: call.offset, evidence: { opcode: call.op, chain, pickle: call.pickle, region: call.region } as Record<string, unknown> };
  const bad = (why: string): Finding => ({
    id: 'pickle/dangerous-call',
    category: 'code-execution',
    severity: 'dangerous',
    title: 'Loading calls builtins.getattr on an unsafe target',
    detail: `${loader} would call ${chain} at byte ${call.offset} (${call.op}): ${why}. getattr chains are how a pickle reaches os.system or eval without naming them.${REGION_NOTE[call.region]}`,
    ...base,
  });
  if (!target || attr === null || args.length < 2 || args.length > 3) return bad('the attribute name is not a plain string constant');
  if (attr.startsWith('__') || attr.includes('.')) return bad(`"${attr}" is an interpreter-internal or dotted attribute`);
  if (target.kind === 'global') {
    const v = classifyImport(target.module, `${target.name}.${attr}`, c.classify);
    if (v.tier === 'safe') return null;
    if (v.tier === 'dangerous') return bad(`it reaches ${v.resolved}, and ${v.reason}`);
    return {
      id: 'pickle/unknown-import',
      category: 'unknown-import',
      severity: 'warning',
      title: `Loading looks up ${v.resolved}`,
      detail: `${loader} would call ${chain} at byte ${call.offset}, which resolves ${v.resolved}: ${v.reason}.`,
      ...base,
    };
  }
  // A method of an instance resolves like the dotted path of the class (or factory) that built it:
  // a known-safe class can still have methods that write files (`PosixPath(p).write_text`,
  // `ndarray.tofile`), and those are as dangerous as naming them directly.
  const maker = instanceMaker(target);
  if (maker) {
    const v = classifyImport(maker.module, `${maker.name}.${attr}`, c.classify);
    if (v.tier === 'dangerous') return bad(`it reaches ${v.resolved} on an object built by ${maker.module}.${maker.name}, and ${v.reason}`);
  }
  const tier = rootTier(target, c);
  if (tier === 'safe') return null;
  if (tier === 'dangerous' || tier === 'unresolved') return bad(`the target ${formatValue(target, { maxChars: 80 })} is not a known-safe object`);
  return {
    id: 'pickle/unknown-import',
    category: 'unknown-import',
    severity: 'warning',
    title: `Loading looks up .${attr} on ${tier === 'literal' ? 'a plain value' : 'an object of an unknown class'}`,
    detail: `${loader} would call ${chain} at byte ${call.offset}: a method of ${formatValue(target, { maxChars: 80 })} that is not on the known-safe list.`,
    ...base,
  };
}

/** The import whose call built `v` (the class or factory of an instance), or null for other values. */
function instanceMaker(v: PickleValue): Extract<PickleValue, { kind: 'global' }> | null {
  if (v.kind !== 'call' || v.callee.kind !== 'global') return null;
  const callee = v.callee;
  // copyreg.__newobj__(cls, ...) and copyreg._reconstructor(cls, base, state) build an instance of `cls`
  if (normaliseModule(callee.module) === 'copyreg' && /^(__newobj__|__newobj_ex__|_reconstructor)$/.test(callee.name)) {
    const first = itemsOf(v.args)?.[0];
    return first && first.kind === 'global' ? first : callee;
  }
  return callee;
}

function rebase(f: Finding, fixed: number | undefined, nestedEvidence: Record<string, unknown>): Finding {
  const evidence = { ...(f.evidence ?? {}), nested: nestedEvidence };
  if (fixed === undefined) return { ...f, evidence };
  return { ...f, offset: fixed, evidence: { ...evidence, payloadOffset: f.offset } };
}

/** Bytes of a nested candidate, decoded, or null when they are not available or too large. */
async function candidateBytes(n: NestedCandidate, source: ByteSource | undefined, signal?: AbortSignal): Promise<Uint8Array | null> {
  const v = n.value;
  if (v.kind === 'bytes') {
    let raw = v.data ?? null;
    if (!raw && source && v.length <= PICKLE_NESTED_MAX_BYTES * (n.encoding === 'raw' ? 1 : 2)) raw = await source.read(v.offset, v.length, signal);
    if (!raw) return null;
    if (n.encoding === 'raw') return raw.length <= PICKLE_NESTED_MAX_BYTES ? raw : null;
    const text = new TextDecoder('latin1').decode(raw);
    return n.encoding === 'base64' ? decodeBase64(text, PICKLE_NESTED_MAX_BYTES) : decodeHex(text, PICKLE_NESTED_MAX_BYTES);
  }
  if (v.truncated) return null;
  if (n.encoding === 'latin1') {
    if (v.value.length > PICKLE_NESTED_MAX_BYTES) return null;
    const out = new Uint8Array(v.value.length);
    for (let i = 0; i < v.value.length; i++) {
      const ch = v.value.charCodeAt(i);
      if (ch > 255) return null;
      out[i] = ch;
    }
    return out;
  }
  return n.encoding === 'base64' ? decodeBase64(v.value, PICKLE_NESTED_MAX_BYTES) : decodeHex(v.value, PICKLE_NESTED_MAX_BYTES);
}

/** Scans the nested payloads found in one emulation; returns their findings (rebased to the outer file). */
async function scanNested(nested: NestedCandidate[], opts: ScanPickleOptions): Promise<Finding[]> {
  const depth = (opts.depth ?? 0) + 1;
  const out: Finding[] = [];
  if (!nested.length) return out;
  if (depth > PICKLE_NESTED_MAX_DEPTH) {
    out.push({
      id: 'pickle/nested-too-deep',
      category: 'malformed',
      severity: 'warning',
      title: 'Nested payloads deeper than Tamperscope follows',
      detail: `A payload inside a payload nested ${depth} levels deep was not scanned (limit ${PICKLE_NESTED_MAX_DEPTH}). Treat it as unknown.`,
      file: opts.file,
      offset: opts.fixedOffset ?? nested[0].value.offset,
    });
    return out;
  }
  let count = 0;
  for (const n of nested) {
    if (++count > PICKLE_MAX_NESTED_PAYLOADS) {
      out.push({
        id: 'pickle/nested-too-many',
        category: 'malformed',
        severity: 'warning',
        title: 'More nested payloads than Tamperscope scans',
        detail: `${nested.length} embedded payloads were found; only the first ${PICKLE_MAX_NESTED_PAYLOADS} were scanned.`,
        file: opts.file,
        offset: opts.fixedOffset ?? n.value.offset,
      });
      break;
    }
    const at = opts.fixedOffset ?? n.value.offset;
    const bytes = await candidateBytes(n, opts.source, opts.signal);
    const nestedEv = { depth, kind: n.kind, encoding: n.encoding, constantOffset: n.value.offset };
    const what = `${n.kind === 'pickle' ? 'a pickle' : n.kind === 'zip' ? 'a zip archive' : 'a NumPy array'}${n.encoding === 'raw' ? '' : ` (${n.encoding}-encoded)`}`;
    out.push({
      id: 'pickle/nested-payload',
      category: 'malformed',
      severity: bytes ? 'info' : 'warning',
      title: `A constant in the pickle holds ${what}`,
      detail: bytes
        ? `The ${n.value.kind} constant at byte ${n.value.offset} holds ${what} of ${bytes.length} bytes. Code that later deserialises it would run it, so it was scanned too; its findings are listed with "nested" evidence.`
        : `The ${n.value.kind} constant at byte ${n.value.offset} starts like ${what} but is too large or incomplete to scan. Treat it as unknown.`,
      file: opts.file,
      offset: at,
      evidence: nestedEv,
    });
    if (!bytes) continue;
    const fixed = n.encoding === 'raw' && opts.fixedOffset === undefined ? undefined : at;
    const baseOffset = fixed === undefined ? n.value.offset : 0;
    try {
      const sub = await scanPayload(bytes, n.kind, { ...opts, depth, baseOffset, fixedOffset: undefined, context: 'nested', label: `the ${what} embedded at byte ${n.value.offset}`, region: 'stream', source: undefined });
      for (const f of sub) out.push(rebase(f, fixed, nestedEv));
    } catch (e) {
      if (isAbortError(e)) throw e;
      out.push({ id: 'pickle/nested-unreadable', category: 'malformed', severity: 'warning', title: `An embedded ${n.kind} payload could not be read`, detail: `${e instanceof Error ? e.message : String(e)}. Treat it as unknown.`, file: opts.file, offset: at, evidence: nestedEv });
    }
  }
  return out;
}

/** Hook for payload kinds other than pickle (npy, zip), set by formats that own them (avoids import cycles). */
export type NestedPayloadScanner = (bytes: Uint8Array, opts: ScanPickleOptions) => Promise<Finding[]>;
const payloadScanners: Partial<Record<NestedCandidate['kind'], NestedPayloadScanner>> = {};

/** Registers the scanner for npy or zip payloads found inside pickles (formats/numpy, formats/pytorch do). */
export function registerNestedPayloadScanner(kind: 'npy' | 'zip', scanner: NestedPayloadScanner): void {
  payloadScanners[kind] = scanner;
}

async function scanPayload(bytes: Uint8Array, kind: NestedCandidate['kind'], opts: ScanPickleOptions): Promise<Finding[]> {
  if (kind === 'pickle') return (await scanPickleBytes(bytes, opts)).findings;
  const scanner = payloadScanners[kind];
  if (scanner) return scanner(bytes, opts);
  return [
    {
      id: 'pickle/nested-unscanned',
      category: 'malformed',
      severity: 'warning',
      title: `An embedded ${kind} payload was not opened`,
      detail: `A constant at byte ${opts.baseOffset ?? 0} holds a ${kind} payload that this build cannot open. Treat it as unknown.`,
      file: opts.file,
      offset: opts.baseOffset,
    },
  ];
}

/**
 * "Scan these bytes as a pickle and give me findings" — the one entry point other formats call
 * (zip members, npz/npy object arrays, joblib, Keras). Emulates every pickle in `bytes`, applies the
 * policy, scans nested payloads recursively (depth-bounded). Never throws on bad input.
 */
export async function scanPickleBytes(bytes: Uint8Array, opts: ScanPickleOptions = {}): Promise<PickleScanResult> {
  const emulation = emulatePickle(bytes, { baseOffset: opts.baseOffset, maxPickles: opts.maxPickles, scanTrailing: opts.scanTrailing, region: opts.region, signal: opts.signal });
  return finishScan(emulation, { ...opts, source: opts.source ?? new MemorySource(bytes) }, bytes, opts.baseOffset ?? 0);
}

/**
 * The same over a file range, read in windows (bounded memory for pickles of any size).
 */
export async function scanPickleSource(source: ByteSource, opts: ScanPickleOptions & { start?: number; end?: number } = {}): Promise<PickleScanResult> {
  const emulation = await emulatePickleSource(source, { start: opts.start, end: opts.end, maxPickles: opts.maxPickles, scanTrailing: opts.scanTrailing, region: opts.region, signal: opts.signal });
  return finishScan(emulation, { ...opts, source }, null, 0);
}

async function finishScan(emulation: PickleEmulation, opts: ScanPickleOptions, bytes: Uint8Array | null, base: number): Promise<PickleScanResult> {
  const a = analyseEmulation(emulation, opts);
  // nested reads through `source` use absolute offsets; an in-memory buffer is addressed from `base`
  const source = bytes ? offsetSource(bytes, base) : opts.source;
  const nestedFindings = await scanNested(a.nested, { ...opts, source });
  const findings = opts.fixedOffset === undefined ? [...a.findings, ...nestedFindings] : [...a.findings.map((f) => ({ ...f, offset: opts.fixedOffset, evidence: { ...(f.evidence ?? {}), payloadOffset: f.offset } })), ...nestedFindings];
  return { findings, emulation, plain: a.plain && !nestedFindings.some((f) => f.severity !== 'info'), tiers: a.tiers };
}

function offsetSource(bytes: Uint8Array, base: number): ByteSource {
  return {
    name: 'memory',
    size: base + bytes.length,
    async read(offset, length) {
      const s = Math.max(0, offset - base);
      return bytes.subarray(s, Math.max(s, Math.min(bytes.length, offset - base + length)));
    },
  };
}
