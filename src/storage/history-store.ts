import type { IDBPDatabase } from 'idb';
import type { PinnedDigest } from '../core/integrity/pinned-digests';
import type { Report } from '../core/report/report';
import { openHistoryDb, type TamperscopeDB } from './db';
import { EXPORT_FORMAT, EXPORT_VERSION, parseHistoryExport, validatePin, type HistoryExport } from './export-format';
import { summarizeReport, type HistorySummary } from './history-entry';

/** Where stored reports live: IndexedDB, or memory when IndexedDB is unavailable or full. */
export interface HistoryBackend {
  list(): Promise<HistorySummary[]>;
  getReport(id: string): Promise<Report | undefined>;
  add(summary: HistorySummary, report: Report): Promise<void>;
  remove(id: string): Promise<void>;
  listPins(): Promise<PinnedDigest[]>;
  putPin(pin: PinnedDigest): Promise<void>;
  removePin(name: string): Promise<void>;
  /** summaries of inspections with a file of this SHA-256 */
  byDigest(sha256: string): Promise<HistorySummary[]>;
  close(): void;
}

export class IdbBackend implements HistoryBackend {
  constructor(readonly db: IDBPDatabase<TamperscopeDB>) {}
  list() {
    return this.db.getAll('history');
  }
  async getReport(id: string) {
    return (await this.db.get('reports', id))?.report;
  }
  async add(summary: HistorySummary, report: Report) {
    const tx = this.db.transaction(['history', 'reports'], 'readwrite');
    // both in one transaction: a summary never exists without its report
    await Promise.all([tx.objectStore('reports').put({ id: summary.id, report }), tx.objectStore('history').put(summary), tx.done]);
  }
  async remove(id: string) {
    const tx = this.db.transaction(['history', 'reports'], 'readwrite');
    await Promise.all([tx.objectStore('reports').delete(id), tx.objectStore('history').delete(id), tx.done]);
  }
  listPins() {
    return this.db.getAll('pinned');
  }
  async putPin(pin: PinnedDigest) {
    await this.db.put('pinned', pin);
  }
  async removePin(name: string) {
    await this.db.delete('pinned', name);
  }
  byDigest(sha256: string) {
    return this.db.getAllFromIndex('history', 'digests', sha256);
  }
  close() {
    this.db.close();
  }
}

export class MemoryBackend implements HistoryBackend {
  private readonly entries = new Map<string, { summary: HistorySummary; report: Report }>();
  private readonly pins = new Map<string, PinnedDigest>();
  async list() {
    return [...this.entries.values()].map((e) => e.summary);
  }
  async getReport(id: string) {
    return this.entries.get(id)?.report;
  }
  async add(summary: HistorySummary, report: Report) {
    // structuredClone: what is kept must not change when the caller's objects do
    this.entries.set(summary.id, structuredClone({ summary, report }));
  }
  async remove(id: string) {
    this.entries.delete(id);
  }
  async listPins() {
    return [...this.pins.values()];
  }
  async putPin(pin: PinnedDigest) {
    this.pins.set(pin.name, { ...pin });
  }
  async removePin(name: string) {
    this.pins.delete(name);
  }
  async byDigest(sha256: string) {
    return (await this.list()).filter((s) => s.digests.includes(sha256));
  }
  close() {}
}

export type StorageNoticeKind = 'unavailable' | 'blocked' | 'quota' | 'closed' | 'failed';

/** Shown by the page whenever history is not being saved to disk. */
export interface StorageNotice {
  kind: StorageNoticeKind;
  message: string;
}

const NOTICES: Record<StorageNoticeKind, string> = {
  unavailable: 'This browser does not let the page store data (private browsing, or storage is disabled). History is kept only until this page is closed.',
  blocked: 'Another Tamperscope tab holds an older version of the history open. Close it and reload; until then history is kept only in this page.',
  quota: 'Browser storage is full. New inspections are kept only until this page is closed; delete old entries or export them to free space. Nothing already saved was lost.',
  closed: 'A newer Tamperscope in another tab took over the stored history. New inspections are kept only until this page is closed; reload to use the stored history again.',
  failed: 'Saving to browser storage failed. New inspections are kept only until this page is closed. Nothing already saved was lost.',
};

function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

export interface HistoryStoreOptions {
  /** open the database (default: IndexedDB through idb); throwing or rejecting means storage is unavailable */
  open?: (handlers: { blocked: () => void; blocking: () => void }) => Promise<IDBPDatabase<TamperscopeDB>>;
  /** use this backend instead of opening one (tests) */
  backend?: HistoryBackend;
  /** how long an upgrade blocked by another tab is waited for before falling back to memory */
  blockedTimeoutMs?: number;
  onNotice?: (n: StorageNotice | null) => void;
  newId?: () => string;
}

export interface ImportResult {
  added: number;
  skipped: number;
  pinned: number;
}

/**
 * The inspection history and the pinned digests. Reads and writes IndexedDB; when IndexedDB is missing,
 * blocked, closed by another tab, full, or failing, it keeps working in memory, sets a notice, and never
 * deletes what is already stored.
 */
export class HistoryStore {
  notice: StorageNotice | null = null;
  private readonly memory = new MemoryBackend();
  private constructor(
    private disk: HistoryBackend | null,
    private readonly options: HistoryStoreOptions,
  ) {}

  static async open(options: HistoryStoreOptions = {}): Promise<HistoryStore> {
    if (options.backend) return new HistoryStore(options.backend, options);
    const store = new HistoryStore(null, options);
    const open = options.open ?? ((h) => openHistoryDb(h));
    if (typeof indexedDB === 'undefined' && !options.open) {
      store.degrade('unavailable');
      return store;
    }
    let blockedTimer: ReturnType<typeof setTimeout> | undefined;
    const blocked = new Promise<'blocked'>((resolve) => {
      store.onBlocked = () => {
        blockedTimer = setTimeout(() => resolve('blocked'), options.blockedTimeoutMs ?? 3000);
      };
    });
    const opening = Promise.resolve().then(() =>
      open({
        blocked: () => store.onBlocked(),
        blocking: () => {
          // A newer version wants the database: let it, and keep going in memory.
          store.disk?.close();
          store.disk = null;
          store.degrade('closed');
        },
      }),
    );
    try {
      const r = await Promise.race([opening, blocked]);
      if (r === 'blocked') {
        store.degrade('blocked');
        // If the other tab lets go later, close the late connection: this page stays in memory mode.
        opening.then((db) => db.close()).catch(() => {});
      } else {
        store.disk = new IdbBackend(r);
      }
    } catch {
      store.degrade('unavailable');
    } finally {
      clearTimeout(blockedTimer);
    }
    return store;
  }

  private onBlocked: () => void = () => {};

  /** true while new entries are saved to disk */
  get persistent(): boolean {
    return this.disk !== null && this.notice === null;
  }

  private degrade(kind: StorageNoticeKind): void {
    if (this.notice?.kind === kind) return;
    this.notice = { kind, message: NOTICES[kind] };
    this.options.onNotice?.(this.notice);
  }

  /** Runs a write on disk; on quota or failure, degrades and writes to memory instead. */
  private async write(fn: (b: HistoryBackend) => Promise<void>): Promise<void> {
    if (this.disk && this.notice === null) {
      try {
        await fn(this.disk);
        return;
      } catch (e) {
        this.degrade(isQuotaError(e) ? 'quota' : 'failed');
      }
    }
    await fn(this.memory);
  }

  /** Reads from disk (when it can) and memory, merged; a failing disk read degrades to memory. */
  private async read<T>(fn: (b: HistoryBackend) => Promise<T[]>): Promise<T[]> {
    const out = await fn(this.memory);
    if (this.disk) {
      try {
        out.push(...(await fn(this.disk)));
      } catch {
        this.degrade('failed');
      }
    }
    return out;
  }

  async list(): Promise<HistorySummary[]> {
    const all = await this.read((b) => b.list());
    const seen = new Set<string>();
    return all.filter((s) => !seen.has(s.id) && seen.add(s.id));
  }

  async getReport(id: string): Promise<Report | undefined> {
    const m = await this.memory.getReport(id);
    if (m) return m;
    try {
      return await this.disk?.getReport(id);
    } catch {
      this.degrade('failed');
      return undefined;
    }
  }

  /** Saves a finished inspection's report (never model bytes) and returns its summary. */
  async record(report: Report, label: string): Promise<HistorySummary> {
    const summary = summarizeReport(this.options.newId?.() ?? crypto.randomUUID(), report, label);
    await this.write((b) => b.add(summary, report));
    return summary;
  }

  async remove(id: string): Promise<void> {
    await this.memory.remove(id);
    if (this.disk) {
      try {
        await this.disk.remove(id);
      } catch (e) {
        this.degrade(isQuotaError(e) ? 'quota' : 'failed');
        throw e;
      }
    }
  }

  byDigest(sha256: string): Promise<HistorySummary[]> {
    return this.read((b) => b.byDigest(sha256.toLowerCase()));
  }

  async listPins(): Promise<PinnedDigest[]> {
    const all = await this.read((b) => b.listPins());
    const byName = new Map<string, PinnedDigest>();
    for (const p of all) if (!byName.has(p.name)) byName.set(p.name, p);
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async pin(name: string, sha256: string, note?: string): Promise<PinnedDigest> {
    const pin = validatePin({ name, sha256: sha256.toLowerCase(), pinnedAt: new Date().toISOString(), ...(note ? { note } : {}) }, 'pin');
    await this.write((b) => b.putPin(pin));
    return pin;
  }

  async unpin(name: string): Promise<void> {
    await this.memory.removePin(name);
    await this.disk?.removePin(name).catch(() => this.degrade('failed'));
  }

  async exportAll(): Promise<HistoryExport> {
    const summaries = await this.list();
    const entries: HistoryExport['entries'] = [];
    for (const s of summaries.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      const report = await this.getReport(s.id);
      if (report) entries.push({ id: s.id, label: s.label, report });
    }
    return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString(), entries, pinned: await this.listPins() };
  }

  async exportJson(): Promise<string> {
    return JSON.stringify(await this.exportAll(), null, 2) + '\n';
  }

  /**
   * Imports an export file. The whole file is validated first (HistoryImportError, nothing written);
   * entries whose id is already stored are skipped, never overwritten; pins are added when the name is
   * not pinned yet.
   */
  async importJson(text: string): Promise<ImportResult> {
    const data = parseHistoryExport(text);
    const existing = new Set((await this.list()).map((s) => s.id));
    const pinned = new Set((await this.listPins()).map((p) => p.name));
    const result: ImportResult = { added: 0, skipped: 0, pinned: 0 };
    for (const e of data.entries) {
      if (existing.has(e.id)) {
        result.skipped++;
        continue;
      }
      existing.add(e.id);
      await this.write((b) => b.add(summarizeReport(e.id, e.report, e.label), e.report));
      result.added++;
    }
    for (const p of data.pinned) {
      if (pinned.has(p.name)) continue;
      await this.write((b) => b.putPin(p));
      result.pinned++;
    }
    return result;
  }

  close(): void {
    this.disk?.close();
    this.disk = null;
  }
}
