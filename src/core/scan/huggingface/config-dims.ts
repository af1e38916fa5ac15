import type { Analysis, AnalysisContext } from '../../analysis';
import { readExact } from '../../io/byte-source';
import { basename, dirname } from '../../io/paths';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../../io/json';
import { JSON_MAX_BYTES } from '../../io/limits';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';

/** Names of input-embedding matrices ([vocab, hidden]) in transformers models, as name suffixes. */
const EMBEDDING_SUFFIXES = ['embed_tokens.weight', 'wte.weight', 'word_embeddings.weight', 'embed_in.weight', 'tok_embeddings.weight'];
/** Keys that say the embedding width is not hidden_size (ALBERT, ELECTRA, OPT-350m, Transformer-XL...). */
const OTHER_EMBEDDING_WIDTH = ['embedding_size', 'word_embed_proj_dim', 'd_embed', 'embed_dim', 'embedding_dim', 'project_in', 'input_embedding_size'];
/** Configs whose top level describes several models (vision + text, encoder + decoder): their top-level sizes are not the stack's. */
const NESTED_CONFIGS = ['text_config', 'vision_config', 'encoder', 'decoder', 'llm_config', 'language_config', 'audio_config'];
/** Layer stacks by the container name before the index: model.layers.N, transformer.h.N, encoder.layer.N, blocks.N. */
const LAYER = /^(.*?(?:^|\.)(?:layers|h|layer|blocks|block))\.(\d+)\./;

export interface ConfigMismatch {
  key: string;
  declared: number;
  found: number;
  tensor?: string;
  /** what was measured: rows, columns or layer indices */
  measure: string;
}

const int = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/**
 * Sizes config.json declares that the weights contradict, where the answer is certain: transformers builds
 * the model from the config and loads the weights by name, so an embedding whose rows are not
 * `vocab_size` fails to load (or is re-initialised with ignore_mismatched_sizes), and layers beyond
 * `num_hidden_layers` are dropped as unexpected keys while missing ones are initialised at random.
 * Checks that might be wrong for some architecture are skipped rather than guessed.
 */
export function configMismatches(config: { [key: string]: JsonValue }, tensors: readonly TensorInfo[]): ConfigMismatch[] {
  if (NESTED_CONFIGS.some((k) => isJsonObject(config[k]))) return [];
  const out: ConfigMismatch[] = [];
  const names = new Set(tensors.map((t) => t.name));
  const embeddings = tensors.filter((t) => t.shape.length === 2 && EMBEDDING_SUFFIXES.some((s) => t.name === s || t.name.endsWith(`.${s}`)));
  // one input embedding, named as in one stack (not an encoder-decoder with several)
  const embedding = embeddings.length > 0 && new Set(embeddings.map((t) => t.name)).size === 1 ? embeddings[0] : undefined;
  const vocab = int(config.vocab_size);
  if (embedding && vocab !== undefined && embedding.shape[0] !== vocab) {
    out.push({ key: 'vocab_size', declared: vocab, found: embedding.shape[0], tensor: embedding.name, measure: 'embedding rows' });
  }
  const hidden = int(config.hidden_size) ?? int(config.n_embd) ?? int(config.d_model);
  const hiddenKey = int(config.hidden_size) !== undefined ? 'hidden_size' : int(config.n_embd) !== undefined ? 'n_embd' : 'd_model';
  if (embedding && hidden !== undefined && !OTHER_EMBEDDING_WIDTH.some((k) => k in config) && embedding.shape[1] !== hidden) {
    out.push({ key: hiddenKey, declared: hidden, found: embedding.shape[1], tensor: embedding.name, measure: 'embedding columns' });
  }
  const layers = int(config.num_hidden_layers) ?? int(config.n_layer);
  const layersKey = int(config.num_hidden_layers) !== undefined ? 'num_hidden_layers' : 'n_layer';
  if (layers !== undefined) {
    const stacks = new Map<string, Set<number>>();
    for (const n of names) {
      const m = LAYER.exec(n);
      if (!m) continue;
      const s = stacks.get(m[1]) ?? new Set<number>();
      stacks.set(m[1], s);
      s.add(Number(m[2]));
    }
    // exactly one stack, or the count is ambiguous (encoder + decoder, vision tower + language model)
    if (stacks.size === 1) {
      const [[prefix, idx]] = [...stacks];
      // DeepSeek-V3 / GLM-4.5 keep multi-token-prediction layers after the declared ones
      const extra = int(config.num_nextn_predict_layers) ?? 0;
      const count = Math.max(...idx) + 1;
      if (count < layers || count > layers + extra) out.push({ key: layersKey, declared: layers, found: count, tensor: `${prefix}.N`, measure: `layer indices (0..${count - 1}, ${idx.size} present)` });
    }
  }
  return out;
}

/**
 * config.json against the weights beside it (THREATS.md §6 folders): a warning per size that disagrees.
 * A mismatch breaks loading or silently drops or re-initialises weights, and a config edited to hide a
 * layer or a padded vocabulary is how extra weights travel unnoticed.
 */
export const huggingFaceConfigDimsAnalysis: Analysis = {
  id: 'huggingface-config-dims',
  phase: 'header',
  async run(ctx: AnalysisContext): Promise<Finding[]> {
    const model = ctx.model;
    if (!model || model.tensors.length === 0) return [];
    const findings: Finding[] = [];
    for (const f of ctx.files) {
      if (basename(f.source.name) !== 'config.json' || !f.parses.some((p) => p.format === 'hf-config')) continue;
      if (f.source.size > JSON_MAX_BYTES) continue;
      const dir = dirname(f.source.name);
      const tensors = model.tensors.filter((t) => dirname(t.file) === dir);
      if (!tensors.length) continue;
      let config: JsonValue;
      try {
        const text = new TextDecoder().decode(await readExact(f.source, 0, f.source.size, 'hf-config', ctx.signal)).replace(/^\uFEFF/, '');
        config = parseJsonStrict(text, 'hf-config').value;
      } catch {
        continue; // the parser already reported an unreadable config
      }
      if (!isJsonObject(config)) continue;
      for (const m of configMismatches(config, tensors)) {
        findings.push({
          id: 'huggingface/config-weights-mismatch',
          category: 'malformed',
          severity: 'warning',
          title: `config.json says ${m.key} = ${m.declared}, the weights have ${m.found}`,
          detail: `${m.key} ${m.declared} does not match the ${m.measure} of the weights (${m.found}${m.tensor ? `, "${m.tensor}"` : ''}). transformers builds the model from config.json and then loads the weights by name: this fails with a size mismatch, or silently drops or randomly initialises weights. A config that disagrees with its weights was edited or belongs to another model.`,
          file: f.source.name,
          evidence: { ...m },
        });
      }
    }
    return findings;
  },
};
