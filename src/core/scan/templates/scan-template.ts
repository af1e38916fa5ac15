import { TEMPLATE_MAX_CHARS } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { tokenizeJinja, type JinjaToken } from './tokenize-jinja';

export interface TemplateLocation {
  /** file the template comes from */
  file: string;
  /** where in the file: the GGUF key or JSON key (`tokenizer.chat_template`, `chat_template`) */
  key: string;
  /** absolute offset of the template's first character in `file`, when known */
  offset?: number;
}

/**
 * Objects every Jinja environment puts in the global namespace (jinja2/defaults.py DEFAULT_NAMESPACE)
 * plus `self`: their functions' `__globals__` reach Python's builtins, which is how the public exploits
 * of CVE-2024-34359 (llama-cpp-python renders GGUF templates with an unsandboxed Environment) and the
 * SSTI payload lists get from a template to `os.popen`: `cycler.__init__.__globals__.os`,
 * `lipsum.__globals__['os']`, `joiner.__init__.__globals__`, `namespace.__init__.__globals__`,
 * `range.__class__`, `self._TemplateReference__context`.
 */
const GLOBAL_OBJECTS = new Set(['cycler', 'joiner', 'namespace', 'lipsum', 'range', 'dict', 'self', 'config', 'request', 'url_for', 'get_flashed_messages', 'g', 'session']);

/** Attribute names that only matter for escaping to Python: never needed to format a conversation. */
const ESCAPE_ATTRIBUTES = new Set([
  'mro', 'func_globals', 'f_globals', 'f_locals', 'f_back', 'gi_frame', 'gi_code', 'cr_frame', 'ag_frame', 'tb_frame', 'tb_next',
  'im_func', 'func_code', 'co_code', 'popen', 'system', 'spawn', 'spawnv', 'execv', 'execve', 'fork', 'import_module',
  'load_module', 'check_output', 'check_call', 'getoutput', 'getstatusoutput', 'eval', 'exec', 'compile',
  'environ', 'modules', 'builtins', 'os', 'sys', 'subprocess', 'importlib', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars',
  'open', 'read_text', 'write_text', 'unlink', 'rmtree', 'linecache', 'from_pyfile', 'from_object', 'application', 'jinja_env',
]);

/** DEFAULT_NAMESPACE entries that are Python callables (and `self`): fine to call, never to pass around. */
const PYTHON_GLOBALS = new Set(['cycler', 'joiner', 'namespace', 'lipsum', 'range', 'dict', 'self']);

/** Tags that load another template through the environment's loader. */
const INCLUDE_TAGS = new Set(['include', 'import', 'from', 'extends']);

/** Plain names that reach Python when called or looked up; no chat template uses them. */
const ESCAPE_NAMES = new Set(['__import__', 'getattr', 'setattr', 'eval', 'exec', 'compile', 'globals', 'locals', 'vars', 'chr', 'ord', 'open', 'os', 'subprocess', 'builtins', 'importlib', 'sys']);

const DUNDER = /__[A-Za-z0-9_]*__|__(?:class|globals|builtins|subclasses|mro|base|bases|init|import|dict|getattribute|reduce|code|func|self|loader|spec|module)/;

interface Hit {
  rule: string;
  title: string;
  detail: string;
  pos: number;
  excerpt: string;
}

/**
 * Flags Jinja constructs that reach Python objects (THREATS.md §5, CVE-2024-34359 and its follow-ups in
 * other runtimes). Every rule is about reach, not about words: dunder attributes and items, the `attr`
 * filter, names built from characters (`|format`, `%`, `~`, `\x5f` escapes, `'_'*2`), attributes of the
 * Jinja globals (`cycler`, `joiner`, `namespace`, `lipsum`, `range`, `self`), private attributes and
 * Python-only attributes (`mro`, `popen`, `f_globals`). Ordinary templates loop over `messages`, read
 * `role`/`content`, use `loop`, special tokens, `raise_exception` and plain filters, and match none.
 */
export function scanChatTemplate(text: string, where: TemplateLocation): Finding[] {
  const findings: Finding[] = [];
  if (text.length > TEMPLATE_MAX_CHARS) {
    return [
      {
        id: 'template/too-large',
        category: 'template-injection',
        severity: 'warning',
        title: `Chat template "${where.key}" is too large to check`,
        detail: `The template has ${text.length} characters, over the ${TEMPLATE_MAX_CHARS} that are tokenised; real chat templates are a few KB. Treat it as unknown.`,
        file: where.file,
        offset: where.offset,
      },
    ];
  }
  const { tokens, errors } = tokenizeJinja(text);
  const hits: Hit[] = [];
  const excerpt = (pos: number) => text.slice(Math.max(0, pos - 30), Math.min(text.length, pos + 50)).replace(/\s+/g, ' ');
  const hit = (rule: string, title: string, detail: string, pos: number) => hits.push({ rule, title, detail, pos, excerpt: excerpt(pos) });

  // Only tokens inside tags matter; data is printed verbatim.
  const code = tokens.filter((t) => t.type !== 'data');
  const op = (t: JinjaToken | undefined, v: string) => t?.type === 'operator' && t.value === v;
  const bracketStack: number[] = [];
  for (let k = 0; k < code.length; k++) {
    const t = code[k];
    const prev = code[k - 1];
    const next = code[k + 1];
    if (t.type === 'name') {
      if (t.value.includes('__')) {
        hit('dunder', `Double-underscore name "${t.value}"`, `"${t.value}" is a Python special name (or part of one built with dict(...)|join). Templates that reach dunders climb from any object to Python's builtins and run commands when rendered outside a sandbox.`, t.pos);
      }
      if (op(prev, '.') && t.value.startsWith('_') && !/^__.*__$/.test(t.value)) {
        hit('private-attribute', `Private attribute ".${t.value}"`, `Attributes starting with "_" are Python internals (jinja2's sandbox forbids them); ".${t.value}" gives access to the template's context and from there to its globals.`, t.pos);
      }
      if (op(prev, '|') && t.value === 'attr') {
        hit('attr-filter', 'The |attr filter', `|attr looks up any attribute by a computed name, the standard way past filters that block "." and "_" (e.g. |attr("\\x5f\\x5fclass\\x5f\\x5f")). Chat templates never need it.`, t.pos);
      }
      if (op(prev, '.') && ESCAPE_ATTRIBUTES.has(t.value)) {
        hit('python-attribute', `Python-only attribute ".${t.value}"`, `".${t.value}" has no use in formatting a conversation; it belongs to Python objects (modules, frames, functions) that a template escape walks through.`, t.pos);
      }
      if (!op(prev, '.') && GLOBAL_OBJECTS.has(t.value) && (op(next, '.') || op(next, '['))) {
        hit('global-escape', `Attribute of the Jinja global "${t.value}"`, `"${t.value}" is a Python object in every Jinja environment; reaching into it ("${t.value}${next!.value}...") is the first step of the published escapes (e.g. cycler.__init__.__globals__.os.popen). Calling it, as namespace(...) and range(...) are used, is harmless.`, t.pos);
      }
      if (!op(prev, '.') && !op(prev, '|') && PYTHON_GLOBALS.has(t.value) && !op(next, '(') && !op(next, '.') && !op(next, '[') && !isKeywordArgument(code, k) && !isAssignmentTarget(code, k)) {
        hit('global-escape', `The Jinja global "${t.value}" used as a value`, `"${t.value}" is a Python function or class in every Jinja environment. Templates call it (namespace(...), range(...)); handing the object itself to a variable, a filter or a loop ("${t.value}${next ? ` ${next.value}` : ''}") lets a later lookup reach its __globals__ under another name.`, t.pos);
      }
      if (prev?.type === 'block-begin' && INCLUDE_TAGS.has(t.value)) {
        hit('include', `{% ${t.value} %} of another template`, `{% ${t.value} %} loads a template by name through the environment's loader: with a file-system loader that reads files outside the model. Chat templates are self-contained and never load others.`, t.pos);
      }
      if (!op(prev, '.') && !op(prev, '|') && ESCAPE_NAMES.has(t.value) && !isKeywordArgument(code, k)) {
        hit('python-name', `Python builtin "${t.value}"`, `"${t.value}" is not defined in a chat template's context; a template that names it expects to find Python's builtins.`, t.pos);
      }
      if ((t.value === 'format' && (op(prev, '|') || op(prev, '.'))) && nearbyStrings(code, k).some((s) => /%c|_|\\x|\{\}/.test(s.raw) || /_/.test(s.value))) {
        hit('built-name', 'A name built with format', `format() is fed underscores, %c or placeholders: the way to spell "__class__" without writing it (e.g. "%c%cclass%c%c"|format(95,95,95,95)).`, t.pos);
      }
    } else if (t.type === 'string') {
      if (DUNDER.test(t.value)) hit('dunder', `String naming a Python special attribute: ${JSON.stringify(t.value.slice(0, 40))}`, `The string ${JSON.stringify(t.value.slice(0, 80))} names a dunder; used as an item key or with |attr it reaches Python internals.`, t.pos);
      else if (/\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})/.test(t.raw) && /[A-Za-z_]/.test(decodedEscapes(t.raw))) {
        hit('escaped-name', `Letters or underscores written as escapes: ${t.raw.slice(0, 40)}`, `The string spells ${JSON.stringify(t.value.slice(0, 40))} with hex/unicode/octal escapes; honest templates write text plainly, escapes are how payloads hide "_" from filters.`, t.pos);
      }
      if (t.value === 'attr' && (op(prev, '(') || op(prev, ','))) {
        hit('attr-filter', 'The attr filter passed by name', `"attr" given as an argument (e.g. |map("attr", ...)) applies the attribute lookup by computed name.`, t.pos);
      }
      if (/^_+$/.test(t.value) && (op(next, '*') || op(next, '~') || op(next, '+') || op(prev, '~') || op(prev, '+') || op(prev, '*') || op(next, '|'))) {
        hit('built-name', `Underscores assembled into a name: ${t.raw}`, `A string of underscores is repeated or joined with other strings: the way to spell "__globals__" without writing it.`, t.pos);
      }
      if (op(next, '%') && /%c|_|%s%s/.test(t.raw)) {
        hit('built-name', `A name built with the % operator: ${t.raw.slice(0, 40)}`, `printf-style formatting of underscores or %c characters builds attribute names at render time.`, t.pos);
      }
    } else if (t.type === 'operator') {
      if (t.value === '[') bracketStack.push(k);
      else if (t.value === ']') {
        const start = bracketStack.pop();
        if (start !== undefined && isSubscript(code, start)) {
          const inner = code.slice(start + 1, k);
          const computed = inner.some((x) => x.type === 'operator' && (x.value === '~' || x.value === '|' || x.value === '%')) || (inner.some((x) => x.type === 'string') && inner.some((x) => x.type === 'operator' && (x.value === '+' || x.value === '*')));
          if (computed) hit('computed-subscript', 'An item looked up by a computed string', `The key of this [...] lookup is built from strings at render time; chat templates index with plain keys (message['content']) or numbers.`, code[start].pos);
          const key = inner.length === 1 && inner[0].type === 'string' ? inner[0].value : null;
          if (key !== null && key.startsWith('_') && !DUNDER.test(key)) hit('private-attribute', `Private item "${key}"`, `Looking up "${key}" reaches Python internals, not conversation data.`, code[start].pos);
        }
      }
    }
  }

  // One finding per rule (the first occurrence names it), every occurrence in the evidence.
  const byRule = new Map<string, Hit[]>();
  for (const h of hits) byRule.set(h.rule, [...(byRule.get(h.rule) ?? []), h]);
  for (const [rule, all] of byRule) {
    const h = all[0];
    findings.push({
      id: `template/${rule}`,
      category: 'template-injection',
      severity: 'dangerous',
      title: `Chat template "${where.key}": ${h.title}${all.length > 1 ? ` and ${all.length - 1} more` : ''}`,
      detail: `${h.detail} Runtimes such as llama-cpp-python before 0.2.72 render chat templates without a sandbox (CVE-2024-34359), so loading this model would run what the template reaches.`,
      file: where.file,
      offset: where.offset !== undefined ? where.offset + byteIndex(text, h.pos) : undefined,
      evidence: { key: where.key, rule, count: all.length, occurrences: all.slice(0, 8).map((x) => ({ at: x.pos, title: x.title, excerpt: x.excerpt })) },
    });
  }
  if (errors.length) {
    findings.push({
      id: 'template/lex-error',
      category: 'template-injection',
      severity: 'warning',
      title: `Chat template "${where.key}" is not valid Jinja`,
      detail: `The template could not be tokenised: ${errors[0].message} at character ${errors[0].pos}. Runtimes reject it or read it differently from this scanner; what follows the error was not checked.`,
      file: where.file,
      offset: where.offset !== undefined ? where.offset + byteIndex(text, errors[0].pos) : undefined,
      evidence: { key: where.key, errors: errors.slice(0, 5) },
    });
  }
  return findings;
}

/** `name=` inside a call is a keyword argument (namespace(os=1) would still be odd, but not a lookup). */
function isKeywordArgument(code: JinjaToken[], k: number): boolean {
  const next = code[k + 1];
  const after = code[k + 2];
  return next?.type === 'operator' && next.value === '=' && !(after?.type === 'operator' && after.value === '=');
}

/** `{% set x = ... %}`, `{% set a, b = ... %}`, `{% for x in ... %}`, `{% macro f(x) %}`: the name is bound here, not read. */
function isAssignmentTarget(code: JinjaToken[], k: number): boolean {
  let j = k - 1;
  while (j >= 0 && code[j].type === 'operator' && (code[j].value === ',' || code[j].value === '(')) j -= 2;
  const kw = code[j];
  if (kw?.type === 'name' && (kw.value === 'set' || kw.value === 'for' || kw.value === 'macro' || kw.value === 'call')) return true;
  return code[k + 1]?.type === 'operator' && code[k + 1].value === '=' && code[k - 1]?.type === 'name' && code[k - 1].value === 'set';
}

/** A `[` right after a value (name, `)`, `]`, string) is a subscript; otherwise it opens a list literal. */
function isSubscript(code: JinjaToken[], start: number): boolean {
  const before = code[start - 1];
  if (!before) return false;
  return before.type === 'name' || before.type === 'string' || (before.type === 'operator' && (before.value === ')' || before.value === ']'));
}

/** String literals within a few tokens of position k (the format string and its arguments). */
function nearbyStrings(code: JinjaToken[], k: number): JinjaToken[] {
  return code.slice(Math.max(0, k - 3), k + 12).filter((t) => t.type === 'string');
}

function decodedEscapes(raw: string): string {
  let out = '';
  raw.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})/g, (_m, e: string) => {
    out += String.fromCodePoint(e[0] === 'x' || e[0] === 'u' || e[0] === 'U' ? parseInt(e.slice(1), 16) : parseInt(e, 8));
    return '';
  });
  return out;
}

/** UTF-8 byte index of character index `pos` (offsets in findings are bytes). */
function byteIndex(text: string, pos: number): number {
  return new TextEncoder().encode(text.slice(0, pos)).length;
}
