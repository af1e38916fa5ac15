import type { IntegrityCheck } from '../../core/integrity/integrity-check';
import { pinnedCheck, type PinnedDigest } from '../../core/integrity/pinned-digests';
import type { Report } from '../../core/report/report';
import { HistoryImportError } from '../../storage/export-format';
import { queryHistory, type HistorySort, type HistorySummary } from '../../storage/history-entry';
import { HistoryStore, type HistoryStoreOptions, type ImportResult, type StorageNotice } from '../../storage/history-store';

/** The page's history: stored reports, search and sort, export/import, pinned digests, storage notice. */
export class HistoryState {
  entries = $state.raw<HistorySummary[]>([]);
  pins = $state.raw<PinnedDigest[]>([]);
  query = $state('');
  sort = $state<HistorySort>('newest');
  notice = $state<StorageNotice | null>(null);
  error = $state<string | null>(null);
  ready = $state(false);
  lastImport = $state<ImportResult | null>(null);
  readonly shown = $derived(queryHistory(this.entries, this.query, this.sort));
  private store: HistoryStore | null = null;

  async init(options: Omit<HistoryStoreOptions, 'onNotice'> = {}): Promise<void> {
    this.store = await HistoryStore.open({ ...options, onNotice: (n) => (this.notice = n) });
    this.notice = this.store.notice;
    await this.refresh();
    this.ready = true;
  }

  private async use<T>(fn: (s: HistoryStore) => Promise<T>): Promise<T | undefined> {
    if (!this.store) return undefined;
    try {
      this.error = null;
      return await fn(this.store);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      return undefined;
    }
  }

  async refresh(): Promise<void> {
    await this.use(async (s) => {
      this.entries = await s.list();
      this.pins = await s.listPins();
    });
  }

  /** Called by the page when an inspection is complete. */
  async record(report: Report, label: string): Promise<HistorySummary | undefined> {
    const r = await this.use((s) => s.record(report, label));
    await this.refresh();
    return r;
  }

  getReport(id: string): Promise<Report | undefined> {
    return this.use((s) => s.getReport(id)).then((r) => r ?? undefined);
  }

  async remove(id: string): Promise<void> {
    await this.use((s) => s.remove(id));
    await this.refresh();
  }

  async exportJson(): Promise<string | undefined> {
    return this.use((s) => s.exportJson());
  }

  async importText(text: string): Promise<void> {
    this.lastImport = null;
    if (!this.store) return;
    try {
      this.error = null;
      this.lastImport = await this.store.importJson(text);
    } catch (e) {
      this.error = e instanceof HistoryImportError ? e.message : `history import failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    await this.refresh();
  }

  async pin(name: string, sha256: string, note?: string): Promise<void> {
    await this.use((s) => s.pin(name, sha256, note));
    await this.refresh();
  }

  async unpin(name: string): Promise<void> {
    await this.use((s) => s.unpin(name));
    await this.refresh();
  }

  /** The pinned-digest check to pass to the next inspection. */
  pinnedCheck(): IntegrityCheck {
    return pinnedCheck(this.pins);
  }

  close(): void {
    this.store?.close();
  }
}
