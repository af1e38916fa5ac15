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

/** Python sources, bytecode and native libraries. */
const CODE_MEMBER = /\.(?:py|pyc|pyo|pyw|pyx|pth|so|dylib|dll)$/i;

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
    // Python's zipfile (what Keras opens the archive with) keeps the LAST member of a repeated name;
    // findEntry returns the first. Every other config.json is scanned as well.
    for (const e of zip.entries.filter((x) => x.inCentral && x.name === 'config.json' && x !== configEntry)) {
      try {
        const m = await readZipMember(source, e, { maxBytes: JSON_MAX_BYTES, signal });
        const text = decodeUtf8(m.bytes);
        const other = text === null || m.truncated ? undefined : parseJsonStrict(text, FORMAT).value;
        if (other !== undefined) findings.push(...scanKerasConfig(other, { file, where: `another config.json member (at ${e.localHeaderOffset}) in "${file}"`, offset: e.localHeaderOffset }));
        else findings.push({ id: 'keras/bad-config', category: 'malformed', severity: 'warning', title: 'A second config.json is unreadable', detail: `The config.json member at ${e.localHeaderOffset} is ${m.truncated ? 'too large' : 'not valid UTF-8'}; Python's zipfile would load it instead of the first.`, file, offset: e.localHeaderOffset });
      } catch (err) {
        if (isAbortError(err) || !isParseError(err)) throw err;
        findings.push({ id: 'keras/bad-config', category: 'malformed', severity: 'warning', title: 'A second config.json is unreadable', detail: `${err.message}. Python's zipfile would load it instead of the first.`, file, offset: e.localHeaderOffset });
      }
    }
    // Code shipped in the archive: Keras never imports it, but it is there for a custom_objects loader to run.
    const code = zip.entries.filter((e) => CODE_MEMBER.test(e.name));
    if (code.length) {
      findings.push({
        id: 'keras/code-member',
        category: 'code-execution',
        severity: 'warning',
        title: `${code.length} code file${code.length > 1 ? 's' : ''} inside the Keras archive`,
        detail: `${code.slice(0, 10).map((e) => e.name).join(', ')}: a .keras archive holds a config, metadata, weights and assets; Python or native code in it is meant to be imported or loaded by whoever opens the model (custom_objects). Read it before trusting the model.`,
        file,
        offset: code[0].localHeaderOffset,
        evidence: { members: code.slice(0, 100).map((e) => e.name) },
      });
    }

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
        if (weights.method !== ZIP_METHOD_STORED) {
          // where each dataset sits in the inflated model.weights.h5 (statistics inflate it again later)
          const inMember = hdf5Tensors(h, file, 0, 'model.weights.h5');
          tensors = tensors.map((t, i) => ({ ...t, encoding: 'deflate', ...(inMember[i]?.offset >= 0 && inMember[i].encoding === 'raw' ? { member: { name: weights.name, offset: inMember[i].offset } } : {}) }));
        }
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
