import { basename, dirname } from '../../io/paths';

/**
 * Hugging Face weight files by name (transformers `modeling_utils`, diffusers, PEFT): one model's
 * weights saved as safetensors and again as a PyTorch pickle, TensorFlow HDF5 or Flax msgpack, whole or
 * sharded (`-00001-of-00003` with a `.index.json`), optionally with a variant (`model.fp16.safetensors`).
 * `from_pretrained` picks one set: safetensors when present, the `.bin` with `use_safetensors=False` or in
 * older transformers, TF/Flax weights with `from_tf` / `from_flax`.
 */
export type WeightSetFormat = 'safetensors' | 'pytorch' | 'tensorflow' | 'flax';

export interface WeightFile {
  path: string;
  /** folder of the file ("" for the root) */
  dir: string;
  /** which model the file holds weights of: `model` (model.*, pytorch_model.*, tf_model.*, flax_model.*), `adapter`, `diffusion` */
  role: 'model' | 'adapter' | 'diffusion';
  variant: string | null;
  format: WeightSetFormat;
  /** shard number and count, or null for a single file */
  shard: { index: number; of: number } | null;
}

/** One complete copy of a model's weights: a single file, or all shards of one sharded save. */
export interface WeightSet {
  /** dir + role + variant: the sets of one key hold the same model's weights */
  key: string;
  format: WeightSetFormat;
  sharded: boolean;
  files: string[];
  /** shards the naming announces but the folder lacks */
  missingShards: number[];
  /** a short label for messages: the file name, or `model-*-of-00002.safetensors` */
  label: string;
}

const NAME = /^(model|pytorch_model|tf_model|flax_model|adapter_model|diffusion_pytorch_model|diffusion_flax_model)(?:\.([A-Za-z0-9_]+))?(?:-(\d{5})-of-(\d{5}))?\.(safetensors|bin|h5|msgpack)$/;

const FORMAT_OF_EXT: Record<string, WeightSetFormat> = { safetensors: 'safetensors', bin: 'pytorch', h5: 'tensorflow', msgpack: 'flax' };

/** The file's place in the naming scheme, or null when the name is not a Hugging Face weight file name. */
export function classifyWeightFile(path: string): WeightFile | null {
  const m = NAME.exec(basename(path));
  if (!m) return null;
  const [, stem, variant, index, of, ext] = m;
  const format = FORMAT_OF_EXT[ext];
  // the stem must fit the extension: pytorch_model.safetensors or model.bin are not names transformers writes
  const stemOk =
    (stem === 'model' && format === 'safetensors') ||
    (stem === 'pytorch_model' && format === 'pytorch') ||
    (stem === 'tf_model' && format === 'tensorflow') ||
    (stem === 'flax_model' && format === 'flax') ||
    (stem === 'adapter_model' && (format === 'safetensors' || format === 'pytorch')) ||
    (stem === 'diffusion_pytorch_model' && (format === 'safetensors' || format === 'pytorch')) ||
    (stem === 'diffusion_flax_model' && format === 'flax');
  if (!stemOk) return null;
  const role = stem.startsWith('adapter') ? 'adapter' : stem.startsWith('diffusion') ? 'diffusion' : 'model';
  const shard = index !== undefined ? { index: Number(index), of: Number(of) } : null;
  if (shard && (shard.of < 1 || shard.index < 1 || shard.index > shard.of)) return null;
  return { path, dir: dirname(path), role, variant: variant ?? null, format, shard };
}

/** Groups a folder's weight files into complete copies of the same weights; only keys with two or more sets are returned. */
export function twinWeightSets(paths: readonly string[]): WeightSet[][] {
  const byKey = new Map<string, Map<string, WeightFile[]>>();
  for (const p of paths) {
    const w = classifyWeightFile(p);
    if (!w) continue;
    const key = `${w.dir}\u0000${w.role}\u0000${w.variant ?? ''}`;
    const setKey = `${w.format}\u0000${w.shard ? w.shard.of : 0}`;
    const sets = byKey.get(key) ?? new Map<string, WeightFile[]>();
    byKey.set(key, sets);
    const files = sets.get(setKey) ?? [];
    sets.set(setKey, files);
    files.push(w);
  }
  const out: WeightSet[][] = [];
  for (const [key, sets] of byKey) {
    if (sets.size < 2) continue;
    const group: WeightSet[] = [];
    for (const files of sets.values()) {
      const first = files[0];
      const sharded = first.shard !== null;
      const have = new Set(files.map((f) => f.shard?.index ?? 1));
      const count = first.shard?.of ?? 1;
      const missingShards: number[] = [];
      for (let i = 1; i <= count && missingShards.length < 100; i++) if (!have.has(i)) missingShards.push(i);
      const name = basename(first.path);
      const label = sharded ? name.replace(/-\d{5}-of-/, '-*-of-') : name;
      group.push({ key, format: first.format, sharded, files: files.map((f) => f.path).sort(), missingShards, label });
    }
    // the set modern loaders pick first: safetensors, a single file before shards
    const rank = (s: WeightSet) => ['safetensors', 'pytorch', 'tensorflow', 'flax'].indexOf(s.format) * 2 + (s.sharded ? 1 : 0);
    group.sort((a, b) => rank(a) - rank(b));
    out.push(group);
  }
  return out;
}
