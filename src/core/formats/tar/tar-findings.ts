import { pathProblems } from '../../io/paths';
import type { Finding } from '../../report/finding';
import { clip, PROBLEM_WORDS } from '../../scan/archive/archive-findings';
import type { TarAnomaly, TarAnomalyCode, TarArchive, TarEntry } from './read-tar';

/** Where findings about an archive point: absolute offsets when the archive is stored as-is in `file`. */
export interface TarPlacement {
  file: string;
  /** absolute offset in `file` of the archive's first byte, when it is stored there as-is */
  baseOffset?: number;
  /** offset in `file` to point at otherwise (the gzip stream or member that holds the archive) */
  anchorOffset?: number;
  /** appended to titles for a nested archive: ` (inside "model.tar.gz")` */
  where?: string;
}

/** Members of a pre-0.4 tar checkpoint; torch.load unpickles the last three by name (torch/serialization.py `legacy_load`), `sys_info` is a pickle too. */
export const LEGACY_TORCH_MEMBERS = ['sys_info', 'pickle', 'storages', 'tensors'] as const;

/** tarfile normalises names when looking a member up (`getmember` uses os.path.normpath): "./pickle" is "pickle". */
export function normaliseTarName(name: string): string {
  return name.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
}

/** The legacy PyTorch tar layout: a `pickle` member next to `storages` or `tensors`. */
export function isLegacyTorchTar(tar: TarArchive): boolean {
  const names = new Set(tar.entries.filter((e) => e.hasContent).map((e) => normaliseTarName(e.name)));
  return names.has('pickle') && (names.has('storages') || names.has('tensors'));
}

const STRUCTURAL: Record<TarAnomalyCode, { severity: Finding['severity']; title: string; why: string }> = {
  'bad-checksum': { severity: 'warning', title: 'Tar header fails its checksum', why: 'Python\'s tarfile (and so torch.load) stops reading at such a header, GNU tar skips to the next valid one: tools list different members. Members after it were scanned anyway.' },
  'bad-header': { severity: 'warning', title: 'Tar header has an unreadable number field', why: 'tarfile refuses the header and stops reading; other tools skip it. Members after it were scanned anyway.' },
  'truncated-header': { severity: 'error', title: 'Tar archive ends inside a header', why: 'The file was cut short.' },
  'data-out-of-bounds': { severity: 'error', title: 'Tar member data runs past the end of the file', why: 'Extracting or loading it fails; the part that is present was scanned.' },
  'no-end-marker': { severity: 'info', title: 'Tar archive has no end-of-archive marker', why: 'Readers accept this, but every archiver writes two zero blocks at the end.' },
  'lone-zero-block': { severity: 'warning', title: 'Tar archive has a lone zero block before more members', why: 'tarfile (and torch.load) treats the zero block as the end and never sees the members after it; `tar -i` and other readers do. They were scanned.' },
  'data-after-end': { severity: 'warning', title: 'Tar members hidden after the end-of-archive marker', why: 'tarfile (and torch.load) stops at the marker and lists none of them; `tar -i`, concatenating readers and some extractors read them. A way to show one tool one archive and another tool a second one. They were scanned.' },
  'trailing-data': { severity: 'warning', title: 'Bytes after the end of the tar archive', why: 'Archivers pad with zeros only; other bytes there are room for a polyglot or a hidden payload.' },
  'extended-header-too-large': { severity: 'warning', title: 'Tar extended header is too large to read', why: 'Its names or records were ignored; the member it describes may carry another name for other tools.' },
  'bad-pax-header': { severity: 'warning', title: 'Tar pax header is malformed', why: 'tarfile refuses it and stops reading; other tools may apply part of it. Members after it were scanned anyway.' },
  'orphan-extended-header': { severity: 'warning', title: 'Tar extended header describes no member', why: 'A long-name or pax header must be followed by the member it names.' },
  'size-on-special': { severity: 'warning', title: 'Tar link or special member declares data', why: 'Readers disagree on whether such data is skipped, so they see different headers after it.' },
  'too-many-entries': { severity: 'warning', title: 'Tar archive has too many members to read them all', why: 'The members after the limit were not scanned: treat them as unknown, not as clean.' },
  'resync-limit': { severity: 'warning', title: 'Tar archive could not be read to its end', why: 'No valid header was found within the search limit after damaged data; the rest of the file was not scanned.' },
};

/**
 * Findings for a tar's structure and names (THREATS.md §2). Nothing is extracted, but tarfile's
 * extractall (before the 3.14 `data` filter), `tar -x` run by hand and Hub tooling do extract, so a
 * name or hard-link target that leaves the folder is `dangerous` ("tar slip", CVE-2007-4559), like a
 * zip entry's (the same `archive/path-traversal` and `archive/symlink` ids).
 */
export function tarFindings(tar: TarArchive, at: TarPlacement): Finding[] {
  const out: Finding[] = [];
  const where = at.where ?? '';
  const place = (offset: number): { offset?: number; evidence?: Record<string, unknown> } =>
    at.baseOffset !== undefined ? { offset: at.baseOffset + offset } : { offset: at.anchorOffset, evidence: { archiveOffset: offset } };
  const finding = (f: Omit<Finding, 'file' | 'offset'>, offset: number): Finding => {
    const p = place(offset);
    return { ...f, title: `${f.title}${where}`, file: at.file, ...(p.offset !== undefined ? { offset: p.offset } : {}), evidence: { ...(f.evidence ?? {}), ...(p.evidence ?? {}) } };
  };
  const via = (e: TarEntry) => (e.pax?.path !== undefined ? 'pax path record' : e.gnuLongName ? 'GNU long-name header' : 'header');
  const seen = new Map<string, TarEntry>();
  const duplicates = new Set<string>();
  /** symbolic links extracted so far: normalised path → target */
  const links = new Map<string, string>();

  for (const e of tar.entries) {
    const through = links.size ? writtenThroughLink(e.name, links) : null;
    if (through) {
      out.push(
        finding(
          {
            id: 'archive/path-traversal',
            category: 'path-traversal',
            severity: 'dangerous',
            title: `Tar entry "${clip(e.name)}" is written through the symbolic link "${clip(through.link)}" → "${clip(through.target)}"`,
            detail: `An earlier entry made "${clip(through.link)}" a link that leads outside the extraction folder; extracting "${clip(e.name)}" after it follows the link and writes outside the folder (the two-step tar slip that name checks alone miss).`,
            evidence: { entry: e.name, link: through.link, target: through.target, kind: e.kind },
          },
          e.offset,
        ),
      );
    }
    if (e.kind === 'symlink') links.set(normaliseTarName(e.name), e.linkName);
    const problems = pathProblems(e.kind === 'directory' ? e.name || '.' : e.name);
    if (problems.length) {
      out.push(
        finding(
          {
            id: 'archive/path-traversal',
            category: 'path-traversal',
            severity: 'dangerous',
            title: `Tar entry name escapes the extraction folder: "${clip(e.name)}"`,
            detail: `The entry "${clip(e.name)}" (named by its ${via(e)}) has ${problems.map((p) => PROBLEM_WORDS[p]).join(', ')}. An extractor that joins it to a folder (tarfile.extractall without a filter, \`tar -x\` with -P) writes outside that folder ("tar slip", CVE-2007-4559), which can overwrite code or configuration.`,
            evidence: { entry: e.name, problems, via: via(e), kind: e.kind },
          },
          e.offset,
        ),
      );
    }
    if (e.kind === 'symlink') {
      const targetProblems = pathProblems(e.linkName).filter((p) => p !== 'empty');
      out.push(
        finding(
          {
            id: 'archive/symlink',
            category: 'path-traversal',
            severity: 'warning',
            title: `Tar entry "${clip(e.name)}" is a symbolic link to "${clip(e.linkName)}"`,
            detail: `Extracting it creates a link${targetProblems.length ? ` that points outside the folder (${targetProblems.map((p) => PROBLEM_WORDS[p]).join(', ')})` : ''}; later entries written through it, or a loader opening it, reach whatever it points at. Model archives never need links.`,
            evidence: { entry: e.name, target: e.linkName, targetProblems, mode: e.mode.toString(8) },
          },
          e.offset,
        ),
      );
    }
    if (e.kind === 'hardlink') {
      const targetProblems = pathProblems(e.linkName).filter((p) => p !== 'empty');
      out.push(
        targetProblems.length
          ? finding(
              {
                id: 'archive/path-traversal',
                category: 'path-traversal',
                severity: 'dangerous',
                title: `Tar hard link "${clip(e.name)}" targets a file outside the archive: "${clip(e.linkName)}"`,
                detail: `The hard link's target has ${targetProblems.map((p) => PROBLEM_WORDS[p]).join(', ')}. An extractor that follows it links to a file outside the folder, and a later entry of the same name overwrites that file's content.`,
                evidence: { entry: e.name, target: e.linkName, problems: targetProblems, kind: e.kind },
              },
              e.offset,
            )
          : finding(
              {
                id: 'tar/hardlink',
                category: 'path-traversal',
                severity: 'warning',
                title: `Tar entry "${clip(e.name)}" is a hard link to "${clip(e.linkName)}"`,
                detail: `Extracting it makes "${clip(e.name)}" another name for "${clip(e.linkName)}": writing one writes the other. Model archives never need links.`,
                evidence: { entry: e.name, target: e.linkName },
              },
              e.offset,
            ),
      );
    }
    if (e.kind === 'char-device' || e.kind === 'block-device' || e.kind === 'fifo') {
      out.push(
        finding(
          {
            id: 'tar/special-file',
            category: 'malformed',
            severity: 'warning',
            title: `Tar entry "${clip(e.name)}" is a ${e.kind === 'fifo' ? 'named pipe (FIFO)' : e.kind === 'char-device' ? 'character device' : 'block device'}`,
            detail: `Extracting it (as root, device nodes are created for real) makes a special file; a loader that opens it blocks forever (a FIFO) or reads a device. Model archives hold regular files only.`,
            evidence: { entry: e.name, kind: e.kind, typeflag: e.typeflag },
          },
          e.offset,
        ),
      );
    }
    if (e.hasContent) {
      const key = normaliseTarName(e.name);
      if (seen.has(key)) duplicates.add(key);
      else seen.set(key, e);
    }
  }
  for (const name of duplicates) {
    const all = tar.entries.filter((e) => e.hasContent && normaliseTarName(e.name) === name);
    out.push(
      finding(
        {
          id: 'tar/duplicate-name',
          category: 'malformed',
          severity: 'warning',
          title: `Tar entry name "${clip(name)}" appears ${all.length} times`,
          detail: `tarfile's getmember and extractfile return the last member of a name (torch.load opens "pickle", "storages" and "tensors" by name), extractors overwrite the earlier ones, and some tools show the first: each sees different content. Every copy was scanned.`,
          evidence: { entry: name, offsets: all.map((e) => e.offset) },
        },
        all[all.length - 1].offset,
      ),
    );
  }

  for (const a of tar.anomalies) out.push(anomalyFinding(a, finding));

  const hidden = tar.entries.filter((e) => e.hidden);
  if (hidden.length) {
    // say which members only other readers see (the anomaly above says why)
    const f = out.find((x) => x.id === 'tar/data-after-end' || x.id === 'tar/lone-zero-block' || x.id === 'tar/bad-checksum' || x.id === 'tar/bad-header' || x.id === 'tar/bad-pax-header');
    if (f) f.evidence = { ...(f.evidence ?? {}), hiddenEntries: hidden.slice(0, 50).map((e) => e.name) };
  }
  return out;
}

/**
 * The link an entry's path goes through (as a directory) when following the links extracted before it
 * leaves the folder: an absolute or drive target, or `..` above the root. Chains of links are followed
 * (at most 32 hops: more is a loop, which an extractor cannot resolve either).
 */
export function writtenThroughLink(name: string, links: ReadonlyMap<string, string>): { link: string; target: string } | null {
  const queue = name.split(/[\\/]/);
  const stack: string[] = [];
  let first: { link: string; target: string } | null = null;
  for (let hops = 0; queue.length; ) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (!stack.length) return first;
      stack.pop();
      continue;
    }
    stack.push(c);
    const path = stack.join('/');
    const target = queue.length ? links.get(path) : undefined;
    if (target === undefined) continue;
    first ??= { link: path, target };
    if (++hops > 32 || /^([\\/]|[a-zA-Z]:)/.test(target)) return first;
    stack.pop();
    queue.unshift(...target.split(/[\\/]/));
  }
  return null;
}

function anomalyFinding(a: TarAnomaly, finding: (f: Omit<Finding, 'file' | 'offset'>, offset: number) => Finding): Finding {
  const s = STRUCTURAL[a.code];
  return finding(
    {
      id: `tar/${a.code}`,
      category: 'malformed',
      severity: s.severity,
      title: s.title,
      detail: `${a.message.charAt(0).toUpperCase()}${a.message.slice(1)}. ${s.why}`,
      evidence: a.entry !== undefined ? { entry: a.entry } : {},
    },
    a.offset,
  );
}

/** Informational: the legacy layout was recognised. */
export function legacyTorchFinding(tar: TarArchive, at: TarPlacement): Finding {
  const present = LEGACY_TORCH_MEMBERS.filter((m) => tar.entries.some((e) => e.hasContent && normaliseTarName(e.name) === m));
  return {
    id: 'tar/legacy-pytorch',
    category: 'code-execution',
    severity: 'info',
    title: `Legacy PyTorch checkpoint (tar layout, before 0.4)${at.where ?? ''}`,
    detail: `The archive holds ${present.map((m) => `"${m}"`).join(', ')}: the layout torch.save wrote before PyTorch 0.4. torch.load still opens it (torch/serialization.py legacy_load: tarfile in 'r:' mode, members looked up by name) and unpickles "storages", "tensors" and "pickle", so each of these members was scanned as a pickle.`,
    file: at.file,
    ...(at.baseOffset !== undefined ? { offset: at.baseOffset } : at.anchorOffset !== undefined ? { offset: at.anchorOffset } : {}),
    evidence: { members: present },
  };
}
