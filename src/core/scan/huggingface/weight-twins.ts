import type { Analysis, AnalysisContext } from '../../analysis';
import { compareModels, type TensorDiff } from '../../diff/compare-models';
import { throwIfAborted } from '../../io/errors';
import { TWIN_COMPARE_MAX_BYTES } from '../../io/limits';
import type { ModelInfo, TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { twinWeightSets, type WeightSet } from './weight-sets';

/** Float dtypes whose values compareModels compares across precisions. */
const FLOATS = new Set(['float64', 'float32', 'float16', 'bfloat16']);
/** Tensors listed as evidence per finding. */
const MAX_LISTED = 50;

/** The tensors of one weight set as a model; tensors whose bytes are not plain row-major at `offset` are made unaddressable so that they are reported as not compared rather than compared byte by byte. */
export function weightSetModel(model: ModelInfo, set: WeightSet): ModelInfo {
  const files = new Set(set.files);
  const tensors = model.tensors.filter((t) => files.has(t.file)).map((t) => ((t.encoding ?? 'raw') === 'raw' ? t : { ...t, offset: -1 }));
  return { format: set.format === 'pytorch' ? 'pytorch-zip' : 'safetensors', files: [...set.files], tensors, metadata: {} };
}

/**
 * Tensors only one set holds that are a tied copy: in a PyTorch pickle they share one storage (same file,
 * offset and length) with a tensor both sets hold. `torch.save` keeps tied parameters (lm_head.weight and
 * the input embedding) under both names; safetensors cannot share bytes and `save_pretrained` drops the
 * duplicate name. Such a tensor is the same weights, not an extra one.
 */
export function tiedNames(only: readonly string[], own: readonly TensorInfo[], common: ReadonlySet<string>): Map<string, string> {
  const at = new Map<string, string>();
  for (const t of own) if (common.has(t.name) && t.offset >= 0) at.set(`${t.file}\u0000${t.offset}\u0000${t.length}\u0000${t.dtype}\u0000${t.shape.join('x')}`, t.name);
  const byName = new Map(own.map((t) => [t.name, t]));
  const out = new Map<string, string>();
  for (const n of only) {
    const t = byName.get(n);
    if (!t || t.offset < 0) continue;
    const twin = at.get(`${t.file}\u0000${t.offset}\u0000${t.length}\u0000${t.dtype}\u0000${t.shape.join('x')}`);
    if (twin !== undefined) out.set(n, twin);
  }
  return out;
}

const fmtName: Record<WeightSet['format'], string> = { safetensors: 'safetensors', pytorch: 'PyTorch pickle', tensorflow: 'TensorFlow', flax: 'Flax' };

/** Compares two weight sets of one model with `compareModels`, and turns the differences into findings. */
export async function compareWeightSets(ctx: AnalysisContext, model: ModelInfo, first: WeightSet, second: WeightSet): Promise<Finding[]> {
  const a = weightSetModel(model, first);
  const b = weightSetModel(model, second);
  if (a.tensors.length === 0 || b.tensors.length === 0) return [];
  const { diff } = await compareModels(b, ctx.folder, a, ctx.folder, ctx.signal);
  const incomplete = first.missingShards.length > 0 || second.missingShards.length > 0;
  const namesA = new Set(a.tensors.map((t) => t.name));
  const namesB = new Set(b.tensors.map((t) => t.name));
  const common = new Set([...namesA].filter((n) => namesB.has(n)));
  const added = diff.tensors.filter((t) => t.status === 'added').map((t) => t.name);
  const removed = diff.tensors.filter((t) => t.status === 'removed').map((t) => t.name);
  const tied = new Map([...tiedNames(added, b.tensors, common), ...tiedNames(removed, a.tensors, common)]);
  const pair = `${first.label} and ${second.label}`;
  const files = { first: first.files, second: second.files };
  const findings: Finding[] = [];

  const changed = diff.tensors.filter((t) => t.status === 'changed');
  if (changed.length) {
    const rows = (t: TensorDiff) => (t.changedRows !== undefined && t.rows !== undefined ? `${t.changedRows} of ${t.rows} rows` : 'values');
    findings.push({
      id: 'huggingface/weight-twins-differ',
      category: 'integrity',
      severity: 'dangerous',
      title: `${second.label} and ${first.label} hold different weights for ${changed.length} tensor${changed.length > 1 ? 's' : ''}`,
      detail: `${pair} are two copies of the same model's weights (${fmtName[first.format]} and ${fmtName[second.format]}${first.format === second.format ? `, ${first.sharded ? 'sharded' : 'single file'} and ${second.sharded ? 'sharded' : 'single file'}` : ''}), but ${changed.slice(0, 3).map((t) => `"${t.name}" (${rows(t)})`).join(', ')}${changed.length > 3 ? ', …' : ''} differ${changed.length === 1 ? 's' : ''} beyond what rounding to another precision does. Which copy a loader picks (safetensors by default, the .bin with use_safetensors=False or in older transformers) silently changes the model: one copy can be clean for a scanner while the other carries a planted edit.`,
      file: second.files[0],
      evidence: {
        ...files,
        tensors: changed.slice(0, MAX_LISTED).map((t) => ({ name: t.name, dtype: t.dtype, refDtype: t.refDtype, changedRows: t.changedRows, rows: t.rows, rowIndices: t.rowIndices, changedBytes: t.changedBytes, cosine: t.cosine, relativeChange: t.relativeChange, sameBytesAs: t.sameBytesAs })),
      },
    });
  }

  const onlySecond = added.filter((n) => !tied.has(n));
  const onlyFirst = removed.filter((n) => !tied.has(n));
  // retyped without a value comparison: another shape too, or dtypes that are not two float precisions
  // (a float tensor whose bytes could not be read is 'not compared' below)
  const sameShape = (t: TensorDiff) => !!t.shape && !!t.refShape && t.shape.join() === t.refShape.join();
  const floatPair = (t: TensorDiff) => FLOATS.has(t.dtype ?? '') && FLOATS.has(t.refDtype ?? '');
  const reshaped = diff.tensors.filter((t) => t.status === 'reshaped' || (t.status === 'retyped' && !t.recast && !(sameShape(t) && floatPair(t))));
  const structural = (incomplete ? [] : [...onlySecond, ...onlyFirst]).length + reshaped.length;
  if (structural) {
    const parts = [
      !incomplete && onlySecond.length ? `${onlySecond.length} tensor${onlySecond.length > 1 ? 's are' : ' is'} only in ${second.label} (${onlySecond.slice(0, 3).map((n) => `"${n}"`).join(', ')}${onlySecond.length > 3 ? ', …' : ''})` : '',
      !incomplete && onlyFirst.length ? `${onlyFirst.length} tensor${onlyFirst.length > 1 ? 's are' : ' is'} only in ${first.label} (${onlyFirst.slice(0, 3).map((n) => `"${n}"`).join(', ')}${onlyFirst.length > 3 ? ', …' : ''})` : '',
      reshaped.length ? `${reshaped.length} tensor${reshaped.length > 1 ? 's have' : ' has'} another shape or dtype (${reshaped.slice(0, 3).map((t) => `"${t.name}" [${t.refShape?.join(', ')}] ${t.refDtype} vs [${t.shape?.join(', ')}] ${t.dtype}`).join('; ')}${reshaped.length > 3 ? '; …' : ''})` : '',
    ].filter(Boolean);
    findings.push({
      id: 'huggingface/weight-twins-tensor-sets',
      category: 'integrity',
      severity: 'warning',
      title: `${pair} do not hold the same tensors`,
      detail: `Two copies of the same model's weights should list the same tensors with the same shapes and dtypes. ${parts.join('; ')}. A loader that picks one copy builds a different model than one that picks the other; extra tensors load as "unexpected keys" and can carry hidden data or weights that custom code picks up.`,
      file: second.files[0],
      evidence: {
        ...files,
        onlyInSecond: incomplete ? [] : onlySecond.slice(0, MAX_LISTED),
        onlyInFirst: incomplete ? [] : onlyFirst.slice(0, MAX_LISTED),
        reshaped: reshaped.slice(0, MAX_LISTED).map((t) => ({ name: t.name, shape: t.shape, refShape: t.refShape, dtype: t.dtype, refDtype: t.refDtype })),
      },
    });
  }

  const recast = diff.tensors.filter((t) => t.status === 'retyped' && t.recast);
  if (recast.length) {
    const kinds = [...new Set(recast.map((t) => `${t.refDtype} in ${first.label}, ${t.dtype} in ${second.label}`))];
    findings.push({
      id: 'huggingface/weight-twins-precision',
      category: 'integrity',
      severity: 'info',
      title: `${pair} store ${recast.length} tensor${recast.length > 1 ? 's' : ''} in different precisions (${kinds.join('; ')})`,
      detail: `Every value agrees within one unit in the last place of the coarser format: the same weights saved in another precision, not an edit. Outputs differ slightly depending on which copy a loader picks.`,
      evidence: { ...files, tensors: recast.slice(0, MAX_LISTED).map((t) => ({ name: t.name, dtype: t.dtype, refDtype: t.refDtype })) },
    });
  }

  const unreadable = diff.tensors.filter((t) => t.status === 'unreadable' || (t.status === 'retyped' && !t.recast && !reshaped.includes(t)));
  const notCompared = [...unreadable.map((t) => t.name), ...(incomplete ? [...onlySecond, ...onlyFirst] : [])];
  if (notCompared.length) {
    findings.push({
      id: 'huggingface/weight-twins-not-compared',
      category: 'integrity',
      severity: 'info',
      title: `${notCompared.length} tensor${notCompared.length > 1 ? 's' : ''} of ${pair} could not be compared`,
      detail: `${unreadable.length ? `${unreadable.length} tensor${unreadable.length > 1 ? 's are' : ' is'} compressed, a strided view, or too large to compare byte by byte. ` : ''}${incomplete ? `Shards are missing (${[first, second].filter((s) => s.missingShards.length).map((s) => `${s.label}: ${s.missingShards.join(', ')}`).join('; ')}), so tensors found in only one copy were not judged. ` : ''}Those tensors may differ between the copies.`,
      evidence: { ...files, tensors: notCompared.slice(0, MAX_LISTED) },
    });
  }

  if (!findings.some((f) => f.severity !== 'info')) {
    const same = diff.tensors.filter((t) => t.status === 'same').length;
    findings.push({
      id: 'huggingface/weight-twins-agree',
      category: 'integrity',
      severity: 'info',
      title: `${pair} hold the same weights (${same + recast.length} tensors compared)`,
      detail: `The folder holds the model's weights twice; ${same} tensors are byte-identical${recast.length ? ` and ${recast.length} agree up to precision` : ''}${tied.size ? `; ${tied.size} name${tied.size > 1 ? 's' : ''} only one copy lists ${tied.size > 1 ? 'are tied copies' : 'is a tied copy'} of another tensor (shared storage)` : ''}. Whichever copy a loader picks, it gets the same model.`,
      evidence: { ...files, same, recast: recast.length, tied: Object.fromEntries([...tied].slice(0, MAX_LISTED)) },
    });
  }
  return findings;
}

/**
 * A Hugging Face folder that holds one model's weights twice (model.safetensors and pytorch_model.bin,
 * a sharded set and a single file, adapter_model.safetensors and adapter_model.bin): the copies are
 * compared tensor by tensor with `compareModels` (ranged reads, bounded memory). Which copy is loaded
 * depends on the loader and its flags, so copies that disagree are a way to show a scanner (or a
 * reviewer reading the safetensors) one model and a loader another.
 */
export const huggingFaceWeightTwinsAnalysis: Analysis = {
  id: 'huggingface-weight-twins',
  phase: 'content',
  async run(ctx: AnalysisContext): Promise<Finding[]> {
    const model = ctx.model;
    if (!model) return [];
    const findings: Finding[] = [];
    for (const group of twinWeightSets(ctx.folder.paths())) {
      const comparable = group.filter((s) => s.format === 'safetensors' || s.format === 'pytorch');
      const other = group.filter((s) => !comparable.includes(s));
      const bytesOf = (set: WeightSet) => set.files.reduce((a, f) => a + (ctx.folder.get(f)?.size ?? 0), 0);
      for (let i = 1; i < comparable.length; i++) {
        throwIfAborted(ctx.signal);
        // both copies are read again after the hashing pass: a large model held twice is compared only up to
        // a size, and said so (a 7B model in both formats would be ~28 GB more to read)
        const size = Math.max(bytesOf(comparable[0]), bytesOf(comparable[i]));
        if (size > TWIN_COMPARE_MAX_BYTES) {
          findings.push({
            id: 'huggingface/weight-twins-not-compared',
            category: 'integrity',
            severity: 'info',
            title: `${comparable[i].label} not compared with ${comparable[0].label}: too large`,
            detail: `The folder holds the model's weights twice (${comparable[0].label}, ${comparable[i].label}); at ${(size / 2 ** 30).toFixed(1)} GiB a copy, comparing them would read both again, over the ${(TWIN_COMPARE_MAX_BYTES / 2 ** 30).toFixed(0)} GiB this check reads. Compare their digests with the publisher's, or scan each with --reference the other.`,
            evidence: { first: comparable[0].files, second: comparable[i].files, bytes: size, limit: TWIN_COMPARE_MAX_BYTES },
          });
          continue;
        }
        findings.push(...(await compareWeightSets(ctx, model, comparable[0], comparable[i])));
      }
      if (other.length && comparable.length) {
        findings.push({
          id: 'huggingface/weight-twins-not-compared',
          category: 'integrity',
          severity: 'info',
          title: `${other.map((s) => s.label).join(' and ')} not compared with ${comparable[0].label}`,
          detail: `The folder also holds ${other.map((s) => `${fmtName[s.format]} weights (${s.label})`).join(' and ')}, which from_pretrained loads with from_tf / from_flax. Their tensors follow another naming scheme and were not compared with ${comparable[0].label}; they may hold other weights.`,
          evidence: { first: comparable[0].files, second: other.flatMap((s) => s.files) },
        });
      }
    }
    return findings;
  },
};
