import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { sampleReport } from '../../tests/fixtures/integrity/sample-report';
import { checkPinnedDigests } from '../core/integrity/pinned-digests';
import { buildReport, type Report } from '../core/report/report';
import { DB_NAME, openHistoryDb } from './db';
import { HistoryImportError } from './export-format';
import { queryHistory, summarizeReport } from './history-entry';
import { HistoryStore, IdbBackend, MemoryBackend, type HistoryBackend } from './history-store';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function report(name: string, sha: string, verdict: 'clean' | 'dangerous', at: string, findingId?: string): Report {
  return buildReport({
    files: [{ name, size: 10, sha256: sha, format: 'safetensors', formats: ['safetensors'] }],
    findings: findingId ? [{ id: findingId, category: 'integrity', severity: verdict === 'dangerous' ? 'dangerous' : 'info', title: 't', detail: 'd', file: name }] : [],
    model: null,
    now: new Date(at),
  });
}

let n = 0;
const ids = () => `id-${++n}`;

beforeEach(() => {
  // a fresh, empty IndexedDB for every test
  globalThis.indexedDB = new IDBFactory();
});

describe('history in IndexedDB', () => {
  it('records reports (not bytes), lists summaries and survives a reload', async () => {
    const s1 = await HistoryStore.open({ newId: ids });
    expect(s1.persistent).toBe(true);
    const a = await s1.record(report('model.safetensors', A, 'clean', '2025-01-01T00:00:00Z'), 'tiny');
    await s1.record(report('evil.bin', B, 'dangerous', '2025-01-02T00:00:00Z', 'pickle/dangerous-call'), 'evil');
    s1.close();
    const s2 = await HistoryStore.open();
    const list = await s2.list();
    expect(list.map((s) => [s.label, s.verdict, s.digests, s.findingIds])).toEqual(
      expect.arrayContaining([
        ['tiny', 'clean', [A], []],
        ['evil', 'dangerous', [B], ['pickle/dangerous-call']],
      ]),
    );
    expect((await s2.getReport(a.id))?.files[0].sha256).toBe(A);
    expect((await s2.byDigest(B.toUpperCase())).map((s) => s.label)).toEqual(['evil']);
    await s2.remove(a.id);
    expect((await s2.list()).map((s) => s.label)).toEqual(['evil']);
    expect(await s2.getReport(a.id)).toBeUndefined();
    s2.close();
  });

  it('migrates a v1 database to v2: backfills digests and finding ids and indexes them', async () => {
    const v1 = await openHistoryDb({ version: 1 });
    expect([...v1.transaction('history').store.indexNames]).toEqual(['createdAt', 'verdict']);
    const r = report('old.safetensors', A, 'dangerous', '2024-06-01T00:00:00Z', 'integrity/sha256-mismatch');
    const { digests: _d, findingIds: _f, ...v1Summary } = summarizeReport('old-1', r, 'old');
    await v1.put('history', v1Summary as never);
    await v1.put('reports', { id: 'old-1', report: r });
    await v1.put('pinned', { name: 'old.safetensors', sha256: A, pinnedAt: '2024-06-01T00:00:00.000Z' });
    v1.close();

    const store = await HistoryStore.open();
    expect(store.notice).toBeNull();
    const [s] = await store.list();
    expect(s).toMatchObject({ id: 'old-1', digests: [A], findingIds: ['integrity/sha256-mismatch'] });
    expect((await store.byDigest(A)).map((x) => x.id)).toEqual(['old-1']);
    expect((await store.listPins()).map((p) => p.name)).toEqual(['old.safetensors']);
    store.close();
    const v2 = await openDB(DB_NAME);
    expect(v2.version).toBe(2);
    expect([...v2.transaction('history').store.indexNames].sort()).toEqual(['createdAt', 'digests', 'findingIds', 'verdict']);
    expect(await v2.getAllKeysFromIndex('history', 'findingIds', 'integrity/sha256-mismatch')).toEqual(['old-1']);
    v2.close();
  });

  it('search and sort: name, digest prefix, verdict, finding id', () => {
    const e = [
      summarizeReport('1', report('a/model.safetensors', A, 'clean', '2025-01-01T00:00:00Z'), 'Tiny Llama'),
      summarizeReport('2', report('evil.pkl', B, 'dangerous', '2025-01-03T00:00:00Z', 'pickle/dangerous-call'), 'evil'),
      summarizeReport('3', report('b.onnx', A, 'clean', '2025-01-02T00:00:00Z', 'onnx/custom-op'), 'zeta'),
    ];
    const q = (s: string, sort?: Parameters<typeof queryHistory>[2]) => queryHistory(e, s, sort).map((x) => x.id);
    expect(q('')).toEqual(['2', '3', '1']);
    expect(q('', 'oldest')).toEqual(['1', '3', '2']);
    expect(q('', 'label')).toEqual(['2', '1', '3']);
    expect(q('', 'verdict')).toEqual(['2', '3', '1']);
    expect(q('MODEL.safe')).toEqual(['1']);
    expect(q('aaaaaaaa')).toEqual(['3', '1']);
    expect(q('dangerous')).toEqual(['2']);
    expect(q('custom-op')).toEqual(['3']);
    expect(q('clean llama')).toEqual(['1']);
    expect(q('nothing-like-this')).toEqual([]);
  });

  it('exports and imports: a round trip, duplicates skipped, nothing overwritten', async () => {
    const s1 = await HistoryStore.open({ newId: ids });
    const rec = await s1.record(sampleReport(), 'sample');
    await s1.pin('model.safetensors', A, 'from the publisher');
    const json = await s1.exportJson();
    const data = JSON.parse(json);
    expect(data).toMatchObject({ format: 'tamperscope.history', version: 1, entries: [{ id: rec.id, label: 'sample' }], pinned: [{ name: 'model.safetensors', sha256: A }] });
    s1.close();

    globalThis.indexedDB = new IDBFactory();
    const s2 = await HistoryStore.open({ newId: ids });
    const mine = await s2.record(report('mine.bin', B, 'clean', '2025-02-01T00:00:00Z'), 'mine');
    expect(await s2.importJson(json)).toEqual({ added: 1, skipped: 0, pinned: 1 });
    expect(await s2.getReport(rec.id)).toEqual(sampleReport());
    expect(await s2.importJson(json)).toEqual({ added: 0, skipped: 1, pinned: 0 });
    expect((await s2.list()).map((s) => s.id).sort()).toEqual([mine.id, rec.id].sort());
    s2.close();
  });

  it('rejects bad imports with a code and a path, writing nothing', async () => {
    const store = await HistoryStore.open({ newId: ids });
    await store.record(report('keep.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'keep');
    const good = JSON.parse(await store.exportJson());
    const bad = (mut: (d: typeof good) => unknown) => JSON.stringify(mut(structuredClone(good)));
    const cases: [string, string, string][] = [
      ['{', 'bad-json', ''],
      ['[]', 'not-an-export', 'format'],
      [bad((d) => ({ ...d, version: 2 })), 'unsupported-version', 'version'],
      [bad((d) => ({ ...d, entries: {} })), 'bad-entry', 'entries'],
      [bad((d) => ({ ...d, entries: [{ ...d.entries[0], id: 'new-1' }, { ...d.entries[0], id: 'x', report: { ...d.entries[0].report, verdict: 'safe' } }] })), 'bad-entry', 'entries[1].report.verdict'],
      [bad((d) => ({ ...d, entries: [{ ...d.entries[0], id: '../x' }] })), 'bad-entry', 'entries[0].id'],
      [bad((d) => ({ ...d, entries: [{ ...d.entries[0], id: 'y', report: { ...d.entries[0].report, files: [{ name: 'f', size: -1, sha256: null, format: null, formats: [] }] } }] })), 'bad-entry', 'entries[0].report.files[0].size'],
      [bad((d) => ({ ...d, pinned: [{ name: 'x', sha256: 'nothex', pinnedAt: '2025-01-01T00:00:00Z' }] })), 'bad-entry', 'pinned[0].sha256'],
    ];
    for (const [text, code, path] of cases) {
      const err = await store.importJson(text).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, text.slice(0, 60)).toBeInstanceOf(HistoryImportError);
      expect([(err as HistoryImportError).code, (err as HistoryImportError).path]).toEqual([code, path]);
    }
    expect((await store.list()).map((s) => s.label)).toEqual(['keep']);
    store.close();
  });

  it('pinned digests feed the pinned-digest check', async () => {
    const store = await HistoryStore.open();
    await store.pin('model.safetensors', A.toUpperCase());
    const pins = await store.listPins();
    expect(pins[0].sha256).toBe(A);
    expect(checkPinnedDigests([{ name: 'model.safetensors', sha256: B }], pins).findings.map((f) => f.id)).toEqual(['integrity/pinned-digest-changed']);
    await store.unpin('model.safetensors');
    expect(await store.listPins()).toEqual([]);
    await expect(store.pin('x', 'nothex')).rejects.toBeInstanceOf(HistoryImportError);
    store.close();
  });
});

describe('history when storage is not available', () => {
  it('no IndexedDB at all (private mode): memory, with a notice', async () => {
    const saved = globalThis.indexedDB;
    // @ts-expect-error simulating a browser without IndexedDB
    delete globalThis.indexedDB;
    try {
      const notices: string[] = [];
      const store = await HistoryStore.open({ onNotice: (x) => notices.push(x!.kind) });
      expect(store.notice?.kind).toBe('unavailable');
      expect(store.persistent).toBe(false);
      await store.record(report('m.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'm');
      expect((await store.list()).map((s) => s.label)).toEqual(['m']);
      expect(notices).toEqual(['unavailable']);
    } finally {
      globalThis.indexedDB = saved;
    }
  });

  it('open throws (Firefox private mode InvalidStateError): memory, with a notice', async () => {
    const store = await HistoryStore.open({ open: () => Promise.reject(new DOMException('A mutation operation was attempted', 'InvalidStateError')) });
    expect(store.notice?.kind).toBe('unavailable');
    await store.record(report('m.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'm');
    expect(await store.list()).toHaveLength(1);
  });

  it('an upgrade blocked by another tab: memory, with a notice', async () => {
    const old = await openHistoryDb({ version: 1 });
    const store = await HistoryStore.open({ blockedTimeoutMs: 20 });
    expect(store.notice?.kind).toBe('blocked');
    await store.record(report('m.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'm');
    expect(await store.list()).toHaveLength(1);
    old.close();
  });

  it('a newer version in another tab closes ours: later entries go to memory, nothing lost', async () => {
    const store = await HistoryStore.open({ newId: ids });
    await store.record(report('first.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'first');
    const newer = await openDB(DB_NAME, 3);
    expect(store.notice?.kind).toBe('closed');
    await store.record(report('second.bin', B, 'clean', '2025-01-02T00:00:00Z'), 'second');
    expect((await store.list()).map((s) => s.label)).toEqual(['second']);
    newer.close();
    // what was saved before is still on disk
    const db = await openDB(DB_NAME, 3);
    expect((await db.getAll('history')).map((s: { label: string }) => s.label)).toEqual(['first']);
    db.close();
  });

  it('storage full: the new entry is kept in memory, the stored ones stay listed', async () => {
    const db = await openHistoryDb();
    const disk = new IdbBackend(db);
    await disk.add(summarizeReport('stored', report('s.bin', A, 'clean', '2025-01-01T00:00:00Z'), 'stored'), report('s.bin', A, 'clean', '2025-01-01T00:00:00Z'));
    const full: HistoryBackend = Object.assign(Object.create(disk), {
      add: () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')),
    });
    const store = await HistoryStore.open({ backend: full, newId: ids });
    expect(store.persistent).toBe(true);
    const rec = await store.record(report('new.bin', B, 'dangerous', '2025-01-02T00:00:00Z', 'pickle/dangerous-call'), 'new');
    expect(store.notice?.kind).toBe('quota');
    expect(store.notice?.message).toMatch(/Nothing already saved was lost/);
    expect((await store.list()).map((s) => s.label).sort()).toEqual(['new', 'stored']);
    expect((await store.getReport(rec.id))?.verdict).toBe('dangerous');
    expect(await db.count('history')).toBe(1);
    db.close();
  });

  it('the memory backend keeps copies, not the caller’s objects', async () => {
    const m = new MemoryBackend();
    const r = report('m.bin', A, 'clean', '2025-01-01T00:00:00Z');
    await m.add(summarizeReport('x', r, 'm'), r);
    r.files[0].name = 'changed';
    expect((await m.getReport('x'))?.files[0].name).toBe('m.bin');
  });
});
