import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { PinnedDigest } from '../core/integrity/pinned-digests';
import type { Report } from '../core/report/report';
import type { HistorySummary } from './history-entry';

/**
 * The IndexedDB schema. Plain data only (no Blobs: fake-indexeddb and some browsers return them as
 * plain objects). Reports live apart from their summaries so the history list never loads them.
 *
 * v1: `history` (summaries: id, createdAt, label, verdict, fileNames, findingCount, modelFormat; indexes
 *     createdAt, verdict), `reports` ({id, report}), `pinned` (PinnedDigest by name).
 * v2: `history` gains `digests` and `findingIds`, backfilled from the stored reports, each with a
 *     multiEntry index, so "every inspection of this digest" is one index look-up.
 */
export const DB_NAME = 'tamperscope';
export const DB_VERSION = 2;

export interface StoredReport {
  id: string;
  report: Report;
}

export interface TamperscopeDB extends DBSchema {
  history: { key: string; value: HistorySummary; indexes: { createdAt: string; verdict: string; digests: string; findingIds: string } };
  reports: { key: string; value: StoredReport };
  pinned: { key: string; value: PinnedDigest };
}

type UpgradeTx = IDBPTransaction<TamperscopeDB, StoreNames<TamperscopeDB>[], 'versionchange'>;

/** Migrations by target version; each runs inside the upgrade transaction. */
const MIGRATIONS: Record<number, (db: IDBPDatabase<TamperscopeDB>, tx: UpgradeTx) => void> = {
  1: (db) => {
    const h = db.createObjectStore('history', { keyPath: 'id' });
    h.createIndex('createdAt', 'createdAt');
    h.createIndex('verdict', 'verdict');
    db.createObjectStore('reports', { keyPath: 'id' });
    db.createObjectStore('pinned', { keyPath: 'name' });
  },
  2: (_db, tx) => {
    const h = tx.objectStore('history');
    h.createIndex('digests', 'digests', { multiEntry: true });
    h.createIndex('findingIds', 'findingIds', { multiEntry: true });
    // Backfill: requests chained on the upgrade transaction keep it alive until the last one is done.
    void (async () => {
      const reports = tx.objectStore('reports');
      let cursor = await h.openCursor();
      while (cursor) {
        const s = cursor.value;
        if (!Array.isArray(s.digests) || !Array.isArray(s.findingIds)) {
          const stored = await reports.get(s.id);
          const r = stored?.report;
          await cursor.update({
            ...s,
            digests: r ? [...new Set(r.files.map((f) => f.sha256).filter((d): d is string => typeof d === 'string'))] : [],
            findingIds: r ? [...new Set(r.findings.map((f) => f.id))] : [],
          });
        }
        cursor = await cursor.continue();
      }
    })();
  },
};

export interface OpenHistoryDbOptions {
  name?: string;
  /** open at an older version (tests of the migrations) */
  version?: number;
  /** another tab holds an older version open and the upgrade waits */
  blocked?: () => void;
  /** this connection stands in the way of a newer version opened elsewhere */
  blocking?: () => void;
}

export function openHistoryDb(options: OpenHistoryDbOptions = {}): Promise<IDBPDatabase<TamperscopeDB>> {
  const version = options.version ?? DB_VERSION;
  return openDB<TamperscopeDB>(options.name ?? DB_NAME, version, {
    upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion + 1; v <= (newVersion ?? version); v++) MIGRATIONS[v]?.(db, tx);
    },
    blocked: options.blocked,
    blocking: options.blocking,
  });
}
