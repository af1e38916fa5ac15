import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DATA = join(import.meta.dirname, '.data');

/** A file of random bytes (not any model format, so only hashing runs on it), made once and reused. */
export function randomFile(name: string, bytes: number): string {
  mkdirSync(DATA, { recursive: true });
  const path = join(DATA, name);
  if (!existsSync(path) || statSync(path).size !== bytes) {
    execFileSync('sh', ['-c', `head -c ${bytes} /dev/urandom > "${path}"`]);
  }
  // warm the page cache so every contender reads from memory, not disk
  execFileSync('sh', ['-c', `cat "${path}" > /dev/null`]);
  return path;
}

/** Wall seconds of coreutils `sha256sum` on the file (the native baseline every hash row is measured against). */
export function sha256sumSeconds(path: string): number {
  const t = process.hrtime.bigint();
  execFileSync('sha256sum', [path]);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
