import { Inflate } from 'fflate';
import type { Analysis, AnalysisContext } from '../analysis';
import { findEntry, readZip } from '../formats/zip/read-zip';
import { isAbortError, isParseError, throwIfAborted } from '../io/errors';
import { DEFLATED_STATS_MAX_BYTES } from '../io/limits';
import type { TensorInfo } from '../model/types';
import { createStatsConsumer } from './stats-consumer';
import type { TensorStats } from './types';

/**
 * Compressed bytes read per step while a member is inflated: deflate expands at most ~1032×, so one step's
 * output stays under ~64 MiB even for a bomb, and the declared size stops it after that step.
 */
const READ_CHUNK = 64 * 1024;

/**
 * Statistics of tensors stored deflated in a zip (numpy.savez_compressed, a .keras written with
 * ZIP_DEFLATED): the streaming pass reads the file as stored, where these bytes are compressed, so it
 * marks them skipped. Here each member that holds such tensors is inflated once, streaming (fflate,
 * bounded memory), and its bytes go through the same statistics consumer at the tensors' offsets inside
 * the member; the results replace the skipped entries before the weight signatures read them. At most
 * DEFLATED_STATS_MAX_BYTES of inflated content per inspection; beyond it the tensors stay skipped.
 */
export const deflatedStatsAnalysis: Analysis = {
  id: 'deflated-tensor-stats',
  phase: 'content',
  async run(ctx: AnalysisContext) {
    const tensors = ctx.model?.tensors.filter((t) => t.encoding === 'deflate' && t.member) ?? [];
    if (!tensors.length) return [];
    let budget = DEFLATED_STATS_MAX_BYTES;
    for (const f of ctx.files) {
      const stats = f.stats as TensorStats[] | undefined;
      const mine = tensors.filter((t) => t.file === f.source.name);
      if (!stats || !mine.length) continue;
      const byMember = new Map<string, TensorInfo[]>();
      for (const t of mine) byMember.set(t.member!.name, [...(byMember.get(t.member!.name) ?? []), t]);
      let zip;
      try {
        zip = await readZip(f.source, { signal: ctx.signal });
      } catch (e) {
        if (isAbortError(e) || !isParseError(e)) throw e;
        continue;
      }
      for (const [name, group] of byMember) {
        throwIfAborted(ctx.signal);
        const entry = findEntry(zip, name);
        if (!entry || entry.dataOffset < 0 || entry.uncompressedSize > budget) continue;
        budget -= entry.uncompressedSize;
        const inMember = group.map((t) => ({ ...t, offset: t.member!.offset, encoding: 'raw' as const, member: undefined }));
        const consumer = createStatsConsumer(inMember);
        const out: { at: number; bytes: Uint8Array }[] = [];
        let produced = 0;
        const inflater = new Inflate((chunk) => {
          out.push({ at: produced, bytes: chunk });
          produced += chunk.length;
        });
        const end = Math.min(f.source.size, entry.dataOffset + entry.compressedSize);
        try {
          for (let pos = entry.dataOffset; pos < end && produced <= entry.uncompressedSize; ) {
            throwIfAborted(ctx.signal);
            const chunk = await f.source.read(pos, Math.min(READ_CHUNK, end - pos), ctx.signal);
            if (!chunk.length) break;
            pos += chunk.length;
            inflater.push(chunk, pos >= end);
            for (const o of out.splice(0)) await consumer.update(o.at, o.bytes);
          }
        } catch (e) {
          if (isAbortError(e)) throw e;
          continue; // a damaged stream: the archive scan reports it; the tensors stay skipped
        }
        const results = consumer.results();
        for (const r of results) {
          const i = stats.findIndex((s) => s.name === r.name && s.file === r.file && s.skipped);
          if (i >= 0 && !r.skipped) stats[i] = r;
        }
      }
    }
    return [];
  },
};
