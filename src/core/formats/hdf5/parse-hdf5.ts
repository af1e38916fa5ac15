import { isParseError } from '../../io/errors';
import { parseJsonStrict } from '../../io/json';
import { HDF5_MAX_BYTES } from '../../io/limits';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { scanKerasConfig } from '../keras/scan-keras-config';
import { startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { readHdf5, type Hdf5Contents } from './read-hdf5';

/** HDF5 signature (spec III.A.1); it may also sit at 512, 1024, ... after a user block, not handled here. */
export function sniffHdf5(ctx: SniffContext): boolean {
  return startsWith(ctx.head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
}

/** Datasets as tensors; `base` shifts offsets when the HDF5 bytes are a stored member of a zip. */
export function hdf5Tensors(h: Hdf5Contents, file: string, base: number | null, origin: string): TensorInfo[] {
  return h.datasets.map((d) => ({
    name: d.path.replace(/^\//, ''),
    dtype: d.dtype,
    shape: d.shape,
    numel: d.numel,
    file,
    offset: d.offset >= 0 && base !== null ? base + d.offset : -1,
    length: d.length,
    origin,
    // chunked data may be filtered (gzip, shuffle); big-endian elements are not little-endian bytes
    encoding: d.layout === 'contiguous' && !d.bigEndian && base !== null ? 'raw' : 'other',
  }));
}

/** Findings for what the HDF5 walk could not read, and for Keras configs kept in attributes. */
export function hdf5Findings(h: Hdf5Contents, file: string, where: string): Finding[] {
  const findings: Finding[] = [];
  if (h.partial) {
    findings.push({ id: 'hdf5/partly-read', category: 'malformed', severity: 'warning', title: 'HDF5 file only partly read', detail: `${where} is larger than the ${HDF5_MAX_BYTES} bytes the HDF5 reader (jsfive) holds in memory; objects stored beyond that were not listed.`, file });
  }
  if (h.problems.length) {
    findings.push({
      id: 'hdf5/unreadable-objects',
      category: 'malformed',
      severity: h.partial ? 'warning' : 'error',
      title: `${h.problems.length} HDF5 object${h.problems.length > 1 ? 's' : ''} could not be read`,
      detail: `In ${where}: ${h.problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ')}${h.problems.length > 3 ? '; ...' : ''}. What they hold was not checked.`,
      file,
      evidence: { problems: h.problems.slice(0, 20) },
    });
  }
  // Legacy Keras (.h5 from tf.keras / Keras 2) keeps the model config as JSON in a root attribute.
  for (const key of ['model_config', 'training_config']) {
    const text = h.rootAttrs[key];
    if (text === undefined) continue;
    try {
      const { value } = parseJsonStrict(text, 'keras');
      findings.push(...scanKerasConfig(value, { file, where: `the "${key}" attribute of ${where}` }));
    } catch (e) {
      if (!isParseError(e)) throw e;
      findings.push({ id: 'keras/bad-config', category: 'malformed', severity: 'error', title: `Keras "${key}" is not valid JSON`, detail: `${e.message}. Keras cannot load this model, and its layers were not checked.`, file });
    }
  }
  return findings;
}

export const hdf5Handler: FormatHandler = {
  id: 'hdf5',
  label: 'HDF5',
  family: 'hdf5',
  sniff: sniffHdf5,
  async parse(ctx: ParseContext): Promise<FileParse> {
    const h = await readHdf5(ctx.source, ctx.signal);
    const keras = h.rootAttrs.keras_version;
    const metadata: Record<string, string> = {};
    for (const k of ['keras_version', 'backend']) if (h.rootAttrs[k] !== undefined) metadata[k] = h.rootAttrs[k];
    return {
      format: 'hdf5',
      formatVersion: keras ? `keras ${keras}` : undefined,
      model: { format: 'hdf5', formatVersion: keras ? `keras ${keras}` : undefined, files: [ctx.name], tensors: hdf5Tensors(h, ctx.name, 0, 'hdf5 dataset'), metadata },
      findings: hdf5Findings(h, ctx.name, `"${ctx.name}"`),
      extra: { kerasModel: h.rootAttrs.model_config !== undefined },
    };
  },
};
