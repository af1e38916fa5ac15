import { decodeUtf8 } from '../../io/byte-reader';
import { readExact } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../../io/json';
import { JSON_MAX_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { scanChatTemplate } from '../../scan/templates/scan-template';
import { asciiOf, skipWhitespace } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';

const FORMAT = 'hf-config';

/**
 * Keys that mark a Hugging Face `config.json` (PretrainedConfig.to_dict) or `tokenizer_config.json`
 * (PreTrainedTokenizerBase.save_pretrained). Recognised by content: the file name is never trusted.
 */
const CONFIG_KEYS = ['"architectures"', '"model_type"', '"auto_map"', '"transformers_version"', '"torch_dtype"'];
const TOKENIZER_KEYS = ['"chat_template"', '"tokenizer_class"', '"added_tokens_decoder"', '"model_max_length"', '"bos_token"', '"eos_token"'];

export function sniffHfConfig(ctx: SniffContext): boolean {
  const i = skipWhitespace(ctx.head);
  if (i < 0 || ctx.head[i] !== 0x7b /* { */) return false;
  const text = asciiOf(ctx.head, 65536);
  return CONFIG_KEYS.some((k) => text.includes(k)) || TOKENIZER_KEYS.filter((k) => text.includes(k)).length >= 1;
}

/** One class reference in `auto_map`: `module.Class`, or `org/repo--module.Class` (code from another repo). */
export interface AutoMapReference {
  auto: string;
  reference: string;
  /** Python module file the loader imports, relative to the folder (`modeling_x.py`) */
  moduleFile: string;
  /** repository the code is fetched from when it is not this one */
  repo?: string;
}

export interface HfConfigExtra {
  kind: 'config' | 'tokenizer-config' | 'both';
  /** classes transformers imports from Python modules: `auto_map` entries and `custom_pipelines.*.impl` */
  autoMap: AutoMapReference[];
  /** offset of the `"auto_map"` key (or of `"custom_pipelines"` when there is no auto_map) */
  autoMapOffset?: number;
  modelType?: string;
  architectures?: string[];
}

function referencesOf(auto: string, v: JsonValue): AutoMapReference[] {
  const out: AutoMapReference[] = [];
  const values = Array.isArray(v) ? v : [v];
  for (const item of values) {
    if (typeof item !== 'string' || item.length === 0) continue;
    // transformers dynamic_module_utils.get_class_from_dynamic_module: "repo_id--module.ClassName"
    const sep = item.indexOf('--');
    const repo = sep >= 0 ? item.slice(0, sep) : undefined;
    const ref = sep >= 0 ? item.slice(sep + 2) : item;
    const dot = ref.lastIndexOf('.');
    const module = dot > 0 ? ref.slice(0, dot) : ref;
    out.push({ auto, reference: item, moduleFile: `${module.split('.').join('/')}.py`, repo });
  }
  return out;
}

/**
 * `config.json` / `tokenizer_config.json` of a Hugging Face model folder: chat templates are tokenised
 * and checked (THREATS.md §5), `auto_map` references are collected for the folder analysis
 * (src/core/scan/huggingface), which needs to see the rest of the folder.
 */
export async function parseHfConfig(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  if (source.size > JSON_MAX_BYTES) throw new ParseError(FORMAT, 'too-large', 0, `${source.size} bytes is over the ${JSON_MAX_BYTES}-byte limit for JSON documents`);
  const bytes = await readExact(source, 0, source.size, FORMAT, ctx.signal);
  const text = decodeUtf8(bytes);
  if (text === null) throw new ParseError(FORMAT, 'bad-utf8', 0, 'not valid UTF-8');
  const trimmed = text.replace(/^\uFEFF/, '');
  const { value, duplicates } = parseJsonStrict(trimmed, FORMAT, text.length - trimmed.length);
  if (!isJsonObject(value)) throw new ParseError(FORMAT, 'not-an-object', 0, 'the document is not a JSON object');
  const file = ctx.name;
  const findings: Finding[] = [];
  const byteOffsetOfKey = (key: string): number | undefined => {
    const i = text.indexOf(`"${key}"`);
    return i < 0 ? undefined : new TextEncoder().encode(text.slice(0, i)).length;
  };
  for (const d of duplicates) {
    findings.push({ id: 'hf-config/duplicate-key', category: 'malformed', severity: 'warning', title: `Key "${d.key}" appears twice`, detail: `Python's json keeps the last "${d.key}", other readers the first: two tools read two configurations.`, file, offset: d.offset, evidence: { key: d.key } });
  }
  const keys = Object.keys(value);
  const isConfig = CONFIG_KEYS.some((k) => keys.includes(k.slice(1, -1)));
  const isTokenizer = TOKENIZER_KEYS.some((k) => keys.includes(k.slice(1, -1)));

  // chat_template: a string, or a list of {name, template} (transformers >= 4.42 named templates)
  const tpl = value.chat_template;
  const templates: { key: string; text: string }[] = [];
  if (typeof tpl === 'string') templates.push({ key: 'chat_template', text: tpl });
  else if (Array.isArray(tpl)) {
    for (const [i, t] of tpl.entries()) {
      if (isJsonObject(t) && typeof t.template === 'string') templates.push({ key: `chat_template[${typeof t.name === 'string' ? t.name : i}]`, text: t.template });
    }
  }
  const tplOffset = byteOffsetOfKey('chat_template');
  for (const t of templates) {
    // The template is JSON-escaped in the file, so character positions do not map to bytes: point at the key.
    for (const f of scanChatTemplate(t.text, { file, key: t.key })) findings.push({ ...f, offset: tplOffset });
  }

  const autoMap: AutoMapReference[] = [];
  if (isJsonObject(value.auto_map)) {
    for (const [auto, v] of Object.entries(value.auto_map)) autoMap.push(...referencesOf(auto, v));
  }
  // custom pipelines (transformers pipeline(task, trust_remote_code=True)): {task: {impl: "module.Class"}},
  // imported the same way as auto_map classes
  if (isJsonObject(value.custom_pipelines)) {
    for (const [task, v] of Object.entries(value.custom_pipelines)) {
      if (isJsonObject(v) && v.impl !== undefined) autoMap.push(...referencesOf(`custom_pipelines.${task}`, v.impl));
    }
  }
  const extra: HfConfigExtra = {
    kind: isConfig && isTokenizer ? 'both' : isTokenizer ? 'tokenizer-config' : 'config',
    autoMap,
    autoMapOffset: autoMap.length ? (byteOffsetOfKey('auto_map') ?? byteOffsetOfKey('custom_pipelines')) : undefined,
    modelType: typeof value.model_type === 'string' ? value.model_type : undefined,
    architectures: Array.isArray(value.architectures) ? value.architectures.filter((a): a is string => typeof a === 'string') : undefined,
  };
  return { format: 'hf-config', model: null, findings, extra: extra as unknown as Record<string, unknown> };
}

export const hfConfigHandler: FormatHandler = {
  id: 'hf-config',
  label: 'Hugging Face config',
  family: 'json',
  sniff: sniffHfConfig,
  parse: parseHfConfig,
};
