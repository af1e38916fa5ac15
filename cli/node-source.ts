import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { ByteSource } from '../src/core/io/byte-source';
import { throwIfAborted } from '../src/core/io/errors';

/** A file on disk read by range through one shared handle. */
export class NodeFileSource implements ByteSource {
  private handle: Promise<FileHandle> | null = null;
  constructor(
    readonly path: string,
    readonly name: string,
    readonly size: number,
  ) {}

  static async open(path: string, name = basename(path)): Promise<NodeFileSource> {
    const s = await stat(path);
    return new NodeFileSource(path, name, s.size);
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return this.readInto(start, new Uint8Array(end - start), signal);
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const length = Math.min(target.length, this.size - start);
    if (length <= 0) return target.subarray(0, 0);
    this.handle ??= open(this.path, 'r');
    const fh = await this.handle;
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(target, got, length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return target.subarray(0, got);
  }

  async close(): Promise<void> {
    if (this.handle) await (await this.handle).close();
    this.handle = null;
  }
}

/** Names to skip when a folder is walked: version-control and OS clutter, never model content. */
const SKIP = new Set(['.git', '.DS_Store', '__MACOSX']);

/**
 * Turns command-line paths into the sources of one model: a file is itself, a folder is every file
 * below it, named by its path relative to that folder (so shards and external data resolve).
 */
export async function sourcesFromPaths(paths: readonly string[]): Promise<NodeFileSource[]> {
  const out: NodeFileSource[] = [];
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) {
      const walk = async (dir: string): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true });
        entries.sort((a, b) => a.name.localeCompare(b.name));
        for (const e of entries) {
          if (SKIP.has(e.name)) continue;
          const full = join(dir, e.name);
          if (e.isDirectory()) await walk(full);
          else if (e.isFile()) out.push(await NodeFileSource.open(full, relative(p, full).split(sep).join('/')));
        }
      };
      await walk(p);
    } else {
      out.push(await NodeFileSource.open(p));
    }
  }
  return out;
}
