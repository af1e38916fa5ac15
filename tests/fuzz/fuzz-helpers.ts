import { expect } from 'vitest';
import { isParseError } from '../../src/core/io/errors';
import { MemorySource } from '../../src/core/io/byte-source';
import type { FileParse, FormatHandler, ParseContext } from '../../src/core/formats/types';

export function ctxOf(bytes: Uint8Array, name: string): ParseContext {
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
}

/**
 * Runs a handler on a mutated file: it must end in a FileParse or a ParseError (never another
 * exception), quickly. Returns which one, for the test's tally.
 */
export async function parseOrTypedError(handler: FormatHandler, bytes: Uint8Array, label: string): Promise<'parsed' | 'rejected'> {
  const started = performance.now();
  let result: FileParse | null = null;
  try {
    result = await handler.parse(ctxOf(bytes, 'fuzz'));
  } catch (e) {
    if (!isParseError(e)) {
      expect.fail(`${label}: ${handler.id} threw a non-ParseError: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
  expect(performance.now() - started, `${label}: took too long`).toBeLessThan(2000);
  if (result) {
    for (const f of result.findings) expect(typeof f.id, label).toBe('string');
    JSON.stringify(result.model);
  }
  return result ? 'parsed' : 'rejected';
}
