/** Problems with a path taken from inside a model file (shard names, external data, zip entries). */
export type PathProblem = 'empty' | 'absolute' | 'drive-letter' | 'parent' | 'backslash' | 'nul' | 'url';

/**
 * What is wrong with a relative path a loader would join to the model folder. `..` components,
 * absolute paths, drive letters, UNC/backslash paths and NULs let a file name escape the folder.
 */
export function pathProblems(p: string): PathProblem[] {
  const out: PathProblem[] = [];
  if (p.length === 0) out.push('empty');
  if (p.includes('\0')) out.push('nul');
  if (p.startsWith('/') || p.startsWith('\\')) out.push('absolute');
  if (/^[a-zA-Z]:/.test(p)) out.push('drive-letter');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(p)) out.push('url');
  if (p.includes('\\')) out.push('backslash');
  if (p.split(/[\\/]/).some((c) => c === '..')) out.push('parent');
  return out;
}

/** Joins a safe relative path to a folder path ("" for the root), normalising "." components. */
export function joinPath(dir: string, rel: string): string {
  const parts = [...(dir ? dir.split('/') : []), ...rel.split('/')].filter((c) => c !== '' && c !== '.');
  return parts.join('/');
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
