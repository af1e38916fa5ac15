/** Turns a drop or a picker selection into (Blob, relative path) pairs: one model, folder structure kept. */
export interface Entry {
  blob: Blob;
  path: string;
}

/** Skipped when walking a dropped folder: version control and OS clutter, never model content. */
const SKIP = new Set(['.git', '.DS_Store', '__MACOSX', 'Thumbs.db']);

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call: call until it returns an empty batch.
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out);
        else {
          out.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: Entry[], depth: number): Promise<void> {
  if (SKIP.has(entry.name) || depth > 32) return;
  if (entry.isFile) {
    out.push({ blob: await fileOf(entry as FileSystemFileEntry), path: prefix + entry.name });
  } else if (entry.isDirectory) {
    const children = await readAllEntries((entry as FileSystemDirectoryEntry).createReader());
    children.sort((a, b) => a.name.localeCompare(b.name));
    for (const c of children) await walk(c, `${prefix}${entry.name}/`, out, depth + 1);
  }
}

/** When everything sits in one top folder, names are given relative to it (the folder is the model). */
export function stripCommonRoot(entries: Entry[]): { entries: Entry[]; root: string | null } {
  const firsts = new Set(entries.map((e) => (e.path.includes('/') ? e.path.split('/')[0] : '')));
  if (firsts.size !== 1 || firsts.has('')) return { entries, root: null };
  const [root] = firsts;
  return { entries: entries.map((e) => ({ blob: e.blob, path: e.path.slice(root.length + 1) })), root };
}

export async function entriesFromDataTransfer(dt: DataTransfer): Promise<Entry[]> {
  const out: Entry[] = [];
  const items = [...dt.items].filter((i) => i.kind === 'file');
  const fsEntries = items.map((i) => i.webkitGetAsEntry?.() ?? null);
  if (fsEntries.length && fsEntries.every((e) => e !== null)) {
    for (const e of fsEntries) await walk(e!, '', out, 0);
    return out;
  }
  for (const f of dt.files) out.push({ blob: f, path: f.name });
  return out;
}

export function entriesFromFileList(files: FileList | File[]): Entry[] {
  return [...files].filter((f) => !f.webkitRelativePath.split('/').some((c) => SKIP.has(c))).map((f) => ({ blob: f, path: f.webkitRelativePath || f.name }));
}
