import { decodeUtf8 } from '../../io/byte-reader';
import { readExact } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { isJsonObject, parseJsonStrict } from '../../io/json';
import { JSON_MAX_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { asciiOf, skipWhitespace } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';

const FORMAT = 'safetensors-index';

export interface SafetensorsIndex {
  totalSize: number | null;
  /** tensor name → shard file name, as written */
  weightMap: Record<string, string>;
}

/** `model.safetensors.index.json`: a JSON object with a `weight_map` (transformers' sharded checkpoints). */
export function sniffSafetensorsIndex(ctx: SniffContext): boolean {
  const i = skipWhitespace(ctx.head);
  return i >= 0 && ctx.head[i] === 0x7b && asciiOf(ctx.head, 65536).includes('"weight_map"');
}

export async function parseSafetensorsIndex(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  if (source.size > JSON_MAX_BYTES) throw new ParseError(FORMAT, 'too-large', 0, `index of ${source.size} bytes exceeds the ${JSON_MAX_BYTES}-byte limit`);
  const bytes = await readExact(source, 0, source.size, FORMAT, ctx.signal);
  const text = decodeUtf8(bytes);
  if (text === null) throw new ParseError(FORMAT, 'bad-utf8', 0, 'index is not valid UTF-8');
  const { value, duplicates } = parseJsonStrict(text.trim(), FORMAT, 0);
  const findings: Finding[] = [];
  for (const d of duplicates) {
    findings.push({ id: 'safetensors-index/duplicate-key', category: 'malformed', severity: 'error', title: `Duplicate key "${d.key}" in the shard index`, detail: `The index names "${d.key}" twice; readers disagree on which shard holds it.`, file: source.name, offset: d.offset, evidence: { key: d.key } });
  }
  if (!isJsonObject(value) || !isJsonObject(value.weight_map)) throw new ParseError(FORMAT, 'bad-index', 0, 'index has no "weight_map" object');
  const weightMap: Record<string, string> = {};
  for (const [tensor, shard] of Object.entries(value.weight_map)) {
    if (typeof shard !== 'string') {
      findings.push({ id: 'safetensors-index/bad-entry', category: 'malformed', severity: 'error', title: `Index entry for "${tensor}" is not a file name`, detail: `weight_map["${tensor}"] is ${JSON.stringify(shard).slice(0, 80)}, not a shard file name.`, file: source.name, evidence: { tensor } });
      continue;
    }
    weightMap[tensor] = shard;
  }
  const meta = isJsonObject(value.metadata) ? value.metadata : null;
  const total = meta?.total_size;
  const index: SafetensorsIndex = { totalSize: typeof total === 'number' ? total : null, weightMap };
  return { format: 'safetensors-index', model: null, findings, extra: { safetensorsIndex: index } };
}

export const safetensorsIndexHandler: FormatHandler = {
  id: 'safetensors-index',
  label: 'safetensors shard index',
  family: 'json',
  sniff: sniffSafetensorsIndex,
  parse: parseSafetensorsIndex,
};
