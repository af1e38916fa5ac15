import { decodeUtf8 } from '../../io/byte-reader';
import { isAbortError, isParseError, ParseError } from '../../io/errors';
import { isJsonObject, parseJsonStrict } from '../../io/json';
import { HDF5_MAX_BYTES, JSON_MAX_BYTES } from '../../io/limits';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { archiveFindings } from '../../scan/archive/archive-findings';
import { scanZipMembers } from '../../scan/archive/scan-members';
import { hdf5Findings, hdf5Tensors } from '../hdf5/parse-hdf5';
import { readHdf5 } from '../hdf5/read-hdf5';
import { asciiOf, startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { findEntry, openZipMember, readZip, readZipMember, ZIP_METHOD_STORED } from '../zip/read-zip';
import { scanKerasConfig } from './scan-keras-config';

const FORMAT = 'keras';

/**
 * Keras 3 `.keras` archives (keras/src/saving/saving_lib.py): a zip with `config.json`,
 * `metadata.json` and `model.weights.h5`. Recognised by those member names in the zip's directory.
 */
export function sniffKeras(ctx: SniffContext): boolean {
  if (!startsWith(ctx.head, [0x50, 0x4b, 0x03, 0x04])) return false;
  const text = asciiOf(ctx.tail, ctx.tail.length) + asciiOf(ctx.head, 4096);
  return text.includes('config.json') && (text.includes('metadata.json') || text.includes('model.weights.'));
}

export const kerasHandler: FormatHandler = {
  id: 'keras',
  label: 'Keras',
  family: 'zip',
  sniff: sniffKeras,
  async parse(ctx: ParseContext): Promise<FileParse> {
    const { source, signal } = ctx;
    const file = ctx.name;
    const zip = await readZip(source, { signal });
    const configEntry = findEntry(zip, 'config.json');
    if (!configEntry) throw new ParseError(FORMAT, 'no-config', 0, 'the archive has no config.json member, so it is not a Keras 3 model');
    const findings: Finding[] = [];
    const readJson = async (name: string) => {
      const e = findEntry(zip, name);
      if (!e) return undefined;
      const m = await readZipMember(source, e, { maxBytes: JSON_MAX_BYTES, signal });
      const text = decodeUtf8(m.bytes);
      if (m.truncated || text === null) throw new ParseError(FORMAT, 'bad-config', e.localHeaderOffset, `${name} is ${m.truncated ? `over ${JSON_MAX_BYTES} bytes` : 'not valid UTF-8'}`);
      return parseJsonStrict(text, FORMAT).value;
    };
    const config = await readJson('config.json');
    if (config === undefined || !isJsonObject(config)) throw new ParseError(FORMAT, 'bad-config', configEntry.localHeaderOffset, 'config.json is not a JSON object');
    findings.push(...scanKerasConfig(config, { file, where: `config.json in "${file}"`, offset: configEntry.localHeaderOffset }));

    const metadata: Record<string, string> = {};
    try {
      const meta = await readJson('metadata.json');
      if (isJsonObject(meta)) for (const [k, v] of Object.entries(meta)) if (typeof v === 'string' || typeof v === 'number') metadata[k] = String(v);
    } catch (e) {
      if (!isParseError(e)) throw e;
      findings.push({ id: 'keras/bad-metadata', category: 'malformed', severity: 'warning', title: 'metadata.json is unreadable', detail: e.message, file });
    }
    if (typeof config.class_name === 'string') metadata.class_name = config.class_name;

    let tensors: TensorInfo[] = [];
    const weights = findEntry(zip, 'model.weights.h5');
    if (weights) {
      try {
        const opened = await openZipMember(source, weights, { maxBytes: HDF5_MAX_BYTES, signal });
        const h = await readHdf5(opened.source, signal);
        // Offsets are file offsets only when the member is stored: then dataset offsets shift by the member's data offset.
        tensors = hdf5Tensors(h, file, weights.method === ZIP_METHOD_STORED ? weights.dataOffset : null, 'model.weights.h5');
        if (weights.method !== ZIP_METHOD_STORED) tensors = tensors.map((t) => ({ ...t, encoding: 'deflate' }));
        findings.push(...hdf5Findings(h, file, `model.weights.h5 in "${file}"`));
      } catch (e) {
        if (isAbortError(e) || !isParseError(e)) throw e;
        findings.push({ id: 'keras/bad-weights', category: 'malformed', severity: 'error', title: 'model.weights.h5 is unreadable', detail: `${e.message}. The weights were not listed.`, file, offset: weights.localHeaderOffset });
      }
    }
    // Every member by content too: a pickle or a nested zip hidden among the assets is still found.
    const scan = await scanZipMembers(source, zip, { file, signal });
    findings.push(...archiveFindings(zip, file, scan.checks), ...scan.findings);
    const version = metadata.keras_version;
    return {
      format: 'keras',
      formatVersion: version,
      model: { format: 'keras', formatVersion: version, files: [file], tensors, metadata },
      findings,
      extra: { members: zip.entries.map((e) => e.name) },
    };
  },
};
