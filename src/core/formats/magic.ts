/** Small helpers for content sniffing. */
export function startsWith(bytes: Uint8Array, magic: readonly number[] | string, at = 0): boolean {
  const m = typeof magic === 'string' ? Array.from(magic, (c) => c.charCodeAt(0)) : magic;
  if (bytes.length < at + m.length) return false;
  for (let i = 0; i < m.length; i++) if (bytes[at + i] !== m[i]) return false;
  return true;
}

export function asciiOf(bytes: Uint8Array, max = 4096): string {
  let s = '';
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** First non-whitespace byte index, or -1. */
export function skipWhitespace(bytes: Uint8Array, from = 0): number {
  for (let i = from; i < bytes.length; i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xef && c !== 0xbb && c !== 0xbf) return i;
  }
  return -1;
}
