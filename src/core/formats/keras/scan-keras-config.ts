import { isJsonObject, type JsonValue } from '../../io/json';
import { JSON_MAX_DEPTH } from '../../io/limits';
import type { Finding } from '../../report/finding';

export interface KerasConfigLocation {
  file: string;
  /** where the config lives: "config.json" member of a .keras zip, or the "model_config" attribute of an .h5 */
  where: string;
  offset?: number;
}

/**
 * Packages whose modules Keras' own safe mode lets a config import (CVE-2025-1550 was a config naming
 * an arbitrary module; Keras 3.9 restricted imports to these). Anything else runs import-time code of
 * a package the file chooses.
 */
const KERAS_PACKAGES = ['keras', 'keras_hub', 'keras_nlp', 'keras_cv', 'tf_keras', 'tensorflow.keras', 'tensorflow.python.keras'];

/**
 * Functions that download, switch off Keras' protections, or turn marshalled bytecode back into a
 * function (`func_load`, what Lambda uses internally: named as an activation or initializer it runs
 * whatever it is given) (THREATS.md §6).
 */
const DANGEROUS_NAMES = /(?:^|[.>])(?:get_file|enable_unsafe_deserialization|func_load)$|^(?:get_file|enable_unsafe_deserialization|func_load)$/;

/**
 * tf.keras `TFOpLambda` / `SlicingOpLambda` layers store a TensorFlow API name (`math.multiply`,
 * `__operators__.add`) that Keras 2 looks up in `tf.*` and calls on every forward pass. Ordinary ones
 * are arithmetic; these reach outside the tensor computation: file I/O, arbitrary Python, printing to a
 * file (`print(output_stream="file://...")`), summaries, SavedModel loading, downloads, and the raw ops
 * that do the same.
 */
const TF_SIDE_EFFECT_OPS = /^(?:compat\.v[12]\.)?(?:io\.|gfile\.|py_function$|numpy_function$|py_func$|script_ops\.|print$|Print$|summary\.|saved_model\.|keras\.utils\.|data\.experimental\.(?:save|load)|debugging\.experimental\.enable_dump|raw_ops\.(?:ReadFile|WriteFile|MatchingFiles|PyFunc|EagerPyFunc|PrintV2|Save|SaveV2|SaveSlices|Restore|RestoreV2|MergeV2Checkpoints|DeleteSessionTensor|ImmutableConst|LoadAndRemapMatrix|DebugIdentity))/;

/**
 * Keras 3 serialisation markers (keras/src/saving/serialization_lib.py) that are plain data; `__lambda__`
 * is not among them: it carries marshalled bytecode.
 */
const DATA_MARKERS = new Set(['__tuple__', '__numpy__', '__bytes__', '__tensor__', '__typespec__', '__ellipsis__', '__slice__', '__keras_tensor__']);

function isKerasModule(m: string): boolean {
  return KERAS_PACKAGES.some((p) => m === p || m.startsWith(`${p}.`));
}

/** Identifiers in marshalled bytecode: co_names and co_consts are stored as plain strings. */
function identifiersIn(base64: string): string[] {
  let bin: string;
  try {
    bin = atob(base64.replace(/\s+/g, '').slice(0, 1 << 20));
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const m of bin.matchAll(/[A-Za-z_][A-Za-z0-9_.]{2,63}/g)) {
    out.add(m[0]);
    if (out.size >= 40) break;
  }
  return [...out];
}

/**
 * Walks a Keras model config (Keras 3 `config.json` or the legacy `model_config` attribute) and flags
 * what makes loading it run code (THREATS.md §6): Lambda layers (marshalled Python bytecode, run by
 * Keras 2 and by Keras 3 with safe_mode=False), `module` / `class_name` / `registered_name` references
 * outside the Keras packages, and references to `get_file` or `enable_unsafe_deserialization`.
 */
export function scanKerasConfig(config: JsonValue, loc: KerasConfigLocation): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Omit<Finding, 'file' | 'offset'>) => {
    const key = `${f.id}|${JSON.stringify(f.evidence)}`;
    if (seen.has(key) || findings.length >= 200) return;
    seen.add(key);
    findings.push({ ...f, file: loc.file, offset: loc.offset });
  };
  const visit = (v: JsonValue, path: string, depth: number): void => {
    if (depth > JSON_MAX_DEPTH * 2) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${path}[${i}]`, depth + 1));
      return;
    }
    if (typeof v === 'string') {
      if (DANGEROUS_NAMES.test(v)) {
        add({ id: 'keras/dangerous-reference', category: 'code-execution', severity: 'dangerous', title: `Keras config names "${v}"`, detail: `${loc.where} refers to "${v}" at ${path}: get_file downloads files at load time and enable_unsafe_deserialization turns off the checks that stop Lambda bytecode from running.`, evidence: { reference: v, path } });
      }
      return;
    }
    if (!isJsonObject(v)) return;
    const className = typeof v.class_name === 'string' ? v.class_name : null;
    const module = typeof v.module === 'string' ? v.module : null;
    const registered = typeof v.registered_name === 'string' ? v.registered_name : null;
    const name = typeof v.name === 'string' ? v.name : typeof (v.config as Record<string, JsonValue> | undefined)?.name === 'string' ? String((v.config as Record<string, JsonValue>).name) : null;

    if (className === 'Lambda' || className === '__lambda__' || (className?.endsWith('>Lambda') ?? false)) {
      const cfg = isJsonObject(v.config) ? v.config : {};
      // Keras 3: config.function = {class_name: "__lambda__", config: {code: base64(marshal)}};
      // Keras 2: config.function = [base64(marshal), defaults, closure] with function_type "lambda".
      const fn = cfg.function;
      let code: string | null = null;
      if (className === '__lambda__' && isJsonObject(v.config) && typeof v.config.code === 'string') code = v.config.code;
      else if (isJsonObject(fn) && isJsonObject(fn.config) && typeof fn.config.code === 'string') code = fn.config.code;
      else if (Array.isArray(fn) && typeof fn[0] === 'string') code = fn[0];
      else if (typeof fn === 'string' && cfg.function_type === 'lambda') code = fn;
      if (className !== '__lambda__' || !path.endsWith('.function')) {
        add({
          id: 'keras/lambda',
          category: 'code-execution',
          severity: 'dangerous',
          title: `Keras Lambda layer${name ? ` "${name}"` : ''} carries Python code`,
          detail: `${loc.where} has a Lambda${name ? ` "${name}"` : ''} at ${path}. Its function is ${code !== null ? 'marshalled Python bytecode that Keras turns back into a function and calls' : 'a Python function that Keras looks up and calls'} when the model is loaded or run (Keras 2 always; Keras 3 when safe_mode=False).${code !== null ? ` Names in the bytecode: ${identifiersIn(code).slice(0, 15).join(', ') || 'none readable'}.` : ''}`,
          evidence: { path, layer: name, bytecodeBytes: code !== null ? Math.floor((code.length * 3) / 4) : undefined, names: code !== null ? identifiersIn(code) : undefined },
        });
      }
    }
    if ((className === 'TFOpLambda' || className === 'SlicingOpLambda') && isJsonObject(v.config) && typeof v.config.function === 'string') {
      const fn = v.config.function.replace(/^tf\./, '');
      if (TF_SIDE_EFFECT_OPS.test(fn)) {
        add({
          id: 'keras/tf-op',
          category: 'code-execution',
          severity: 'dangerous',
          title: `${className} layer${name ? ` "${name}"` : ''} calls tf.${fn}`,
          detail: `${loc.where} at ${path} has a ${className} that Keras resolves to tf.${fn} and calls whenever the model runs. That operation reaches outside the tensor computation (files, Python, logs); TFOpLambda layers from ordinary code are arithmetic such as tf.math.multiply.`,
          evidence: { path, layer: name, function: v.config.function },
        });
      }
    }
    if (registered !== null && !registered.includes('>') && /[.:/]/.test(registered)) {
      add({
        id: 'keras/custom-object',
        category: 'code-execution',
        severity: 'warning',
        title: `Keras config registers the object as "${registered}"`,
        detail: `${loc.where} at ${path} gives registered_name "${registered}", a dotted path rather than Keras' "Package>Name" form or a plain class name. Keras resolves registered names only among registered custom objects, so this is not what Keras writes; a loader that imports it would run that module.`,
        evidence: { registeredName: registered, module, className, path },
      });
    }
    if (module !== null && !isKerasModule(module)) {
      add({
        id: 'keras/foreign-module',
        category: 'code-execution',
        severity: 'dangerous',
        title: `Keras config imports "${module}${className ? `.${className}` : ''}"`,
        detail: `${loc.where} at ${path} tells Keras to import the module "${module}"${className ? ` and take "${className}" from it` : ''}. Importing runs the module's code; Keras before 3.9 did this even in safe mode (CVE-2025-1550). Only Keras' own packages are expected here.`,
        evidence: { module, className, registeredName: registered, path },
      });
    }
    if (className !== null && !DATA_MARKERS.has(className) && className !== '__lambda__' && /[.:/]/.test(className)) {
      add({ id: 'keras/foreign-class', category: 'code-execution', severity: 'dangerous', title: `Keras config names the class "${className}"`, detail: `${loc.where} at ${path} names a class by dotted path; Keras classes are plain names resolved among Keras' own objects.`, evidence: { className, path } });
    }
    if (registered !== null && registered.includes('>')) {
      const pkg = registered.slice(0, registered.indexOf('>'));
      if (!isKerasModule(pkg)) {
        add({
          id: 'keras/custom-object',
          category: 'code-execution',
          severity: 'dangerous',
          title: `Keras config needs the custom object "${registered}"`,
          detail: `${loc.where} at ${path} refers to "${registered}", registered by package "${pkg}" outside Keras. Loading needs that package's code (imported from wherever the loader finds it), and the class runs with the config it is given.`,
          evidence: { registeredName: registered, module, className, path },
        });
      }
    }
    if (className !== null && DANGEROUS_NAMES.test(className)) {
      add({ id: 'keras/dangerous-reference', category: 'code-execution', severity: 'dangerous', title: `Keras config names "${className}"`, detail: `${loc.where} refers to "${className}" at ${path}: get_file downloads files at load time and enable_unsafe_deserialization turns off Keras' safe mode.`, evidence: { reference: className, path } });
    }
    // class_name was checked above; every other value is walked (strings too: a get_file reference can sit anywhere)
    for (const [k, x] of Object.entries(v)) if (k !== 'class_name') visit(x, `${path}.${k}`, depth + 1);
  };
  visit(config, '$', 0);
  return findings;
}
