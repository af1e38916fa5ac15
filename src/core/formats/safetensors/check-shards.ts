import type { Analysis, AnalysisContext, FileResult } from '../../analysis';
import { basename, dirname, joinPath, pathProblems } from '../../io/paths';
import type { Finding } from '../../report/finding';
import type { SafetensorsIndex } from './parse-safetensors-index';
import type { SafetensorsHeader } from './parse-safetensors';

/**
 * Sharded checkpoints: `model.safetensors.index.json` must agree with the shards (THREATS.md §4).
 * Every shard it names must be a plain relative path, be present, hold the tensors the index maps to it
 * and no others; `metadata.total_size` must equal the tensor bytes of all shards.
 */
export async function checkSafetensorsShards(ctx: AnalysisContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const byPath = new Map<string, FileResult>(ctx.files.map((f) => [f.source.name, f]));
  for (const f of ctx.files) {
    const index = f.parse?.extra?.safetensorsIndex as SafetensorsIndex | undefined;
    if (!index) continue;
    const indexFile = f.source.name;
    const dir = dirname(indexFile);
    const shardNames = [...new Set(Object.values(index.weightMap))];
    /** per shard: the tensors its own parser listed (safetensors headers, PyTorch state-dict keys, ...) */
    const headers = new Map<string, { tensors: { name: string; bytes: number }[] }>();
    const missing: string[] = [];
    for (const shard of shardNames) {
      const problems = pathProblems(shard);
      if (problems.length) {
        findings.push({
          id: 'safetensors-index/path-traversal',
          category: 'path-traversal',
          severity: 'dangerous',
          title: `Shard path "${shard}" leaves the model folder`,
          detail: `The index tells loaders to open "${shard}" (${problems.join(', ')}). A loader joins it to the model folder and reads whatever file that names.`,
          file: indexFile,
          evidence: { shard, problems },
        });
        continue;
      }
      const r = byPath.get(joinPath(dir, shard));
      // transformers writes the same index for safetensors and PyTorch (.bin) shards: use whatever the
      // shard's own parser listed
      const st = r?.parses.find((p) => p.format === 'safetensors')?.extra?.safetensors as SafetensorsHeader | undefined;
      const model = r?.parses.find((p) => p.model && p.model.tensors.length)?.model;
      if (!r) missing.push(shard);
      else if (st) headers.set(shard, { tensors: st.tensors.map((t) => ({ name: t.name, bytes: t.end - t.begin })) });
      else if (model) headers.set(shard, { tensors: model.tensors.filter((t) => t.file === r.source.name).map((t) => ({ name: t.name, bytes: t.length })) });
      else {
        findings.push({ id: 'safetensors-index/bad-shard', category: 'malformed', severity: 'error', title: `Shard "${shard}" holds no readable tensors`, detail: `The index maps tensors to "${shard}", but no parser could list tensors in that file.`, file: indexFile, evidence: { shard, formats: r.formats } });
      }
    }
    if (missing.length) {
      findings.push({
        id: 'safetensors-index/missing-shard',
        category: 'malformed',
        severity: 'warning',
        title: `${missing.length} shard${missing.length > 1 ? 's' : ''} named by the index ${missing.length > 1 ? 'were' : 'was'} not inspected`,
        detail: `The index names ${missing.map((s) => `"${s}"`).join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not in the inspected files. Drop the whole folder to check every shard.`,
        file: indexFile,
        evidence: { missing },
      });
    }
    let totalBytes = 0;
    for (const [shard, h] of headers) {
      const inShard = new Set(h.tensors.map((t) => t.name));
      for (const t of h.tensors) totalBytes += t.bytes;
      const mapped = Object.entries(index.weightMap).filter(([, s]) => s === shard).map(([t]) => t);
      const absent = mapped.filter((t) => !inShard.has(t));
      const unlisted = h.tensors.map((t) => t.name).filter((t) => index.weightMap[t] !== shard);
      if (absent.length) {
        findings.push({ id: 'safetensors-index/tensor-missing', category: 'malformed', severity: 'error', title: `${absent.length} tensor${absent.length > 1 ? 's' : ''} mapped to "${shard}" ${absent.length > 1 ? 'are' : 'is'} not in it`, detail: `The index says "${shard}" holds ${absent.slice(0, 5).map((t) => `"${t}"`).join(', ')}${absent.length > 5 ? ', …' : ''}, but its header does not list ${absent.length > 1 ? 'them' : 'it'}. Loading fails or picks up another tensor.`, file: indexFile, evidence: { shard, tensors: absent.slice(0, 100) } });
      }
      if (unlisted.length) {
        findings.push({ id: 'safetensors-index/tensor-unlisted', category: 'malformed', severity: 'warning', title: `"${basename(shard)}" holds ${unlisted.length} tensor${unlisted.length > 1 ? 's' : ''} the index does not map to it`, detail: `${unlisted.slice(0, 5).map((t) => `"${t}"`).join(', ')}${unlisted.length > 5 ? ', …' : ''} ${unlisted.length > 1 ? 'are' : 'is'} in the shard but mapped elsewhere or not at all: loaders ignore ${unlisted.length > 1 ? 'them' : 'it'}, so the bytes can hide data.`, file: joinPath(dir, shard), evidence: { shard, tensors: unlisted.slice(0, 100) } });
      }
    }
    if (missing.length === 0 && headers.size === shardNames.length && index.totalSize !== null && index.totalSize !== totalBytes) {
      findings.push({ id: 'safetensors-index/total-size', category: 'malformed', severity: 'warning', title: 'Index total_size disagrees with the shards', detail: `metadata.total_size is ${index.totalSize} bytes but the shards' tensors add up to ${totalBytes} bytes.`, file: indexFile, evidence: { totalSize: index.totalSize, shardBytes: totalBytes } });
    }
  }
  return findings;
}

export const safetensorsShardsAnalysis: Analysis = { id: 'safetensors-shards', phase: 'header', run: checkSafetensorsShards };
