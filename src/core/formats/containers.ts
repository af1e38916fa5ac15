import { decodeUtf8 } from '../io/byte-reader';
import type { FormatId } from '../model/types';
import { startsWith, skipWhitespace } from './magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from './types';

/**
 * Formats Tamperscope recognises by their magic bytes. Those that no parser opens yet are reported as
 * unscanned content (THREATS.md §2: a scanner that does not understand a file must say so, not pass it).
 * tar and gzip have their own handlers (formats/tar, formats/gzip); 7z, xz and bzip2 have no decoder here.
 */
function unscanned(id: FormatId, label: string, family: string, sniff: (ctx: SniffContext) => boolean, hint = ''): FormatHandler {
  return {
    id,
    label,
    family,
    sniff,
    async parse(ctx: ParseContext): Promise<FileParse> {
      return {
        format: id,
        model: null,
        findings: [
          {
            id: 'container/unscanned',
            category: 'malformed',
            severity: 'warning',
            title: `${label} content was not scanned`,
            detail: `"${ctx.name}" is ${label}, which Tamperscope recognises but cannot open, so nothing inside it was checked. Treat it as unknown, not as clean.${hint}`,
            file: ctx.name,
            offset: 0,
            evidence: { format: id },
          },
        ],
      };
    },
  };
}

export const containerHandlers: FormatHandler[] = [
  unscanned('7z', 'a 7z archive', '7z', (c) => startsWith(c.head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])),
  unscanned('xz', 'xz-compressed data', 'xz', (c) => startsWith(c.head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])),
  unscanned('bzip2', 'bzip2-compressed data', 'bzip2', (c) => startsWith(c.head, 'BZh')),
  {
    id: 'json',
    label: 'JSON',
    family: 'json',
    sniff: (c) => {
      const i = skipWhitespace(c.head);
      return i >= 0 && (c.head[i] === 0x7b || c.head[i] === 0x5b) && decodeUtf8(c.head.subarray(0, Math.max(0, Math.min(c.head.length, 4096) - 4))) !== null;
    },
    async parse(): Promise<FileParse> {
      return { format: 'json', model: null, findings: [] };
    },
  },
  {
    id: 'text',
    label: 'text',
    family: 'text',
    // UTF-8 without NULs in the first bytes: READMEs, licences, .gitattributes, tokenizer vocabularies
    sniff: (c) => !c.head.subarray(0, 8192).includes(0) && decodeUtf8(c.head.subarray(0, Math.max(0, Math.min(c.head.length, 8192) - 4))) !== null,
    async parse(): Promise<FileParse> {
      return { format: 'text', model: null, findings: [] };
    },
  },
];
