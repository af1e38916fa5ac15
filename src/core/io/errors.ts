/**
 * Structural damage in an untrusted file. `code` is stable and kebab-case (tests and findings key on
 * it), `format` names the parser, `offset` is the absolute byte offset in the file where reading failed.
 */
export class ParseError extends Error {
  readonly code: string;
  readonly format: string;
  readonly offset: number;

  constructor(format: string, code: string, offset: number, message: string) {
    super(`${format}: ${message}`);
    this.name = 'ParseError';
    this.format = format;
    this.code = code;
    this.offset = offset;
  }
}

export function isParseError(e: unknown): e is ParseError {
  return e instanceof ParseError || (typeof e === 'object' && e !== null && (e as { name?: string }).name === 'ParseError');
}

/** The user cancelled a long operation. */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: string }).name === 'AbortError';
}
