import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../../tests/helpers/hub-server';
import { MemorySource } from '../io/byte-source';
import { folderIndexOf } from '../inspect';
import { compareHubDigests, hubCheck, HubLookupError, lookupHubDigests } from './hub-lookup';

const MODEL = join(__dirname, '../../../tests/fixtures/integrity/model');
const REPO = 'tamperscope-test/tiny-model';
const size = (name: string) => statSync(join(MODEL, name)).size;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}
function localModel() {
  return walk(MODEL).map((p) => ({ name: relative(MODEL, p).replace(/\\/g, '/'), bytes: new Uint8Array(readFileSync(p)) }));
}
function asCheck(files: { name: string; bytes: Uint8Array }[]) {
  return {
    files: files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha(f.bytes) })),
    folder: folderIndexOf(files.map((f) => new MemorySource(f.bytes, f.name))),
  };
}
const ids = (fs: { id: string; severity: string }[]) => fs.map((f) => `${f.id}:${f.severity}`).sort();

let server: HubServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function lookup(opts: Parameters<typeof startHubServer>[0] = {}, extra: Partial<Parameters<typeof lookupHubDigests>[0]> = {}) {
  server = await startHubServer(opts);
  return lookupHubDigests({ repo: REPO, revision: 'main', hubUrl: server.url, ...extra });
}

async function failure(p: Promise<unknown>): Promise<HubLookupError> {
  try {
    await p;
  } catch (e) {
    return e as HubLookupError;
  }
  throw new Error('expected a failure');
}

describe('Hub look-up', () => {
  it('lists every file with size and digest, following pages, and reads security status', async () => {
    const hub = await lookup({ pageSize: 2 });
    expect(hub.files.map((f) => [f.path, f.size, f.lfs])).toEqual([
      ['.gitattributes', size('.gitattributes'), false],
      ['config.json', size('config.json'), false],
      ['legacy/pytorch_model.bin', 34, true],
      ['model.safetensors', size('model.safetensors'), true],
      ['tokenizer/vocab.txt', size('tokenizer/vocab.txt'), false],
    ]);
    const st = hub.files.find((f) => f.path === 'model.safetensors')!;
    expect(st.sha256).toBe(sha(readFileSync(join(MODEL, 'model.safetensors'))));
    expect(st.security).toEqual({ status: 'safe', scanners: { avScan: 'safe', pickleImportScan: 'unscanned' } });
    expect(hub.files.find((f) => f.path === 'legacy/pytorch_model.bin')!.security).toEqual({ status: 'unsafe', scanners: { avScan: 'safe', pickleImportScan: 'dangerous', jFrogScan: 'unsafe' } });
    expect(hub.files.find((f) => f.path === 'config.json')!.security).toBeNull();
    // 7 entries (2 directories) in pages of 2, then one paths-info for the 2 LFS files
    const reqs = server!.requests.map((r) => `${r.method} ${r.url}`);
    expect(reqs).toEqual([
      'GET /api/models/tamperscope-test/tiny-model/tree/main?recursive=true&expand=false',
      'GET /api/models/tamperscope-test/tiny-model/tree/main?recursive=true&expand=false&cursor=2',
      'GET /api/models/tamperscope-test/tiny-model/tree/main?recursive=true&expand=false&cursor=4',
      'GET /api/models/tamperscope-test/tiny-model/tree/main?recursive=true&expand=false&cursor=6',
      'POST /api/models/tamperscope-test/tiny-model/paths-info/main',
    ]);
    expect(JSON.parse(server!.requests[4].body)).toEqual({ paths: ['legacy/pytorch_model.bin', 'model.safetensors'], expand: true });
    expect(server!.requests.every((r) => r.headers.authorization === undefined && r.headers.cookie === undefined)).toBe(true);
    expect(hub.requested.every((u) => u.startsWith(server!.url + '/api/models/'))).toBe(true);
  });

  it('talks to https://huggingface.co/api/... by default', async () => {
    const urls: string[] = [];
    const fake = (async (u: string) => {
      urls.push(u);
      return new Response(u.includes('/tree/') ? '[]' : '[]', { status: 200, headers: { 'Content-Type': 'application/json' } });
    }) as unknown as typeof fetch;
    const hub = await lookupHubDigests({ repo: 'owner/model', revision: 'refs/pr/1', fetch: fake });
    expect(urls).toEqual(['https://huggingface.co/api/models/owner/model/tree/refs%2Fpr%2F1?recursive=true&expand=false']);
    expect(hub.files).toEqual([]);
  });

  it('matches the local folder: LFS by SHA-256, git files by blob SHA-1', async () => {
    const hub = await lookup();
    const r = await hubCheck(hub)(asCheck(localModel()));
    expect(r.results.map((x) => [x.file, x.status])).toEqual([
      ['.gitattributes', 'match'],
      ['config.json', 'match'],
      ['model.safetensors', 'match'],
      ['tokenizer/vocab.txt', 'match'],
      ['legacy/pytorch_model.bin', 'missing'],
    ]);
    expect(r.results.every((x) => x.source === 'hub')).toBe(true);
    expect(ids(r.findings)).toEqual(['hub/scanner-flagged:info', 'integrity/missing-file:info']);
  });

  it('a changed LFS file is a dangerous SHA-256 mismatch', async () => {
    const hub = await lookup();
    const files = localModel();
    const st = files.find((f) => f.name === 'model.safetensors')!;
    st.bytes = st.bytes.slice();
    st.bytes[100] ^= 0xff;
    const r = await hubCheck(hub)(asCheck(files));
    const f = r.findings.find((x) => x.id === 'integrity/sha256-mismatch')!;
    expect(f).toMatchObject({ severity: 'dangerous', file: 'model.safetensors', evidence: { actual: sha(st.bytes), source: 'hub' } });
  });

  it('a size difference is a dangerous size mismatch', async () => {
    const hub = await lookup();
    const files = localModel();
    const st = files.find((f) => f.name === 'model.safetensors')!;
    st.bytes = new Uint8Array([...st.bytes, 0]);
    const r = await hubCheck(hub)(asCheck(files));
    expect(r.findings.filter((x) => x.severity === 'dangerous').map((x) => [x.id, x.evidence?.expected, x.evidence?.actual])).toEqual([['integrity/size-mismatch', size('model.safetensors'), size('model.safetensors') + 1]]);
  });

  it('a changed git-stored file is a dangerous blob mismatch', async () => {
    const hub = await lookup();
    const files = localModel();
    const cfg = files.find((f) => f.name === 'config.json')!;
    cfg.bytes = new TextEncoder().encode(new TextDecoder().decode(cfg.bytes).replace('"hidden_size": 2', '"hidden_size": 3'));
    const r = await hubCheck(hub)(asCheck(files));
    const f = r.findings.find((x) => x.id === 'integrity/git-oid-mismatch')!;
    expect(f).toMatchObject({ severity: 'dangerous', file: 'config.json', evidence: { algorithm: 'git-blob-sha1' } });
  });

  it('a file missing locally is info; a local file the repository lacks is a warning', async () => {
    const hub = await lookup();
    const files = localModel().filter((f) => f.name !== 'tokenizer/vocab.txt');
    files.push({ name: 'modeling_tiny.py', bytes: new TextEncoder().encode('import os') });
    const r = await compareHubDigests(asCheck(files).files, hub, asCheck(files).folder);
    expect(ids(r.findings)).toEqual(['hub/scanner-flagged:info', 'integrity/extra-file:warning', 'integrity/missing-file:info', 'integrity/missing-file:info']);
    expect(r.results.find((x) => x.file === 'modeling_tiny.py')!.status).toBe('extra');
  });

  it('the Hub flagging a file that is present locally is a warning', async () => {
    const hub = await lookup();
    const files = [...localModel(), { name: 'legacy/pytorch_model.bin', bytes: new Uint8Array(34) }];
    const r = await hubCheck(hub)(asCheck(files));
    expect(r.findings.find((x) => x.id === 'hub/scanner-flagged')).toMatchObject({ severity: 'warning', evidence: { status: 'unsafe' } });
  });

  it('an unknown repository or revision is not-found; a bad name is refused before any request', async () => {
    server = await startHubServer();
    const e1 = await failure(lookupHubDigests({ repo: 'nobody/nothing', hubUrl: server.url }));
    expect([e1.code, e1.status]).toEqual(['not-found', 401]);
    const e2 = await failure(lookupHubDigests({ repo: REPO, revision: 'v9', hubUrl: server.url }));
    expect([e2.code, e2.status]).toEqual(['not-found', 404]);
    expect(e2.message).toMatch(/revision "v9"/);
    const n = server.requests.length;
    for (const bad of ['../etc', 'a/b/c', 'datasets/x/y', '', 'owner/na me']) expect((await failure(lookupHubDigests({ repo: bad, hubUrl: server.url }))).code).toBe('bad-repo');
    expect((await failure(lookupHubDigests({ repo: REPO, revision: '../main', hubUrl: server.url }))).code).toBe('bad-revision');
    expect(server.requests.length).toBe(n);
  });

  it('never follows a next-page link to another host', async () => {
    const e = await failure(lookup({ pageSize: 2, nextPageOrigin: 'http://evil.invalid' }));
    expect(e.code).toBe('off-host');
    expect(server!.requests).toHaveLength(1);
  });

  it('a listing that is not a listing is a bad response', async () => {
    expect((await failure(lookup({ treeBody: '[{"type":"file","path":"../../x","size":1}]' }))).code).toBe('bad-response');
    await server!.close();
    expect((await failure(lookup({ treeBody: '[{"type":"file","path":"a","size":1,"lfs":{"oid":"nothex"}}]' }))).code).toBe('bad-response');
    await server!.close();
    expect((await failure(lookup({ treeBody: 'not json' }))).code).toBe('bad-response');
  });

  it('a failing security request keeps the listing and says why', async () => {
    const hub = await lookup({ pathsInfoStatus: 500 });
    expect(hub.files).toHaveLength(5);
    expect(hub.securityNote).toMatch(/security status could not be read/);
  });

  it('an aborted look-up throws AbortError', async () => {
    server = await startHubServer();
    const ac = new AbortController();
    ac.abort();
    const e = await failure(lookupHubDigests({ repo: REPO, hubUrl: server.url, signal: ac.signal }));
    expect((e as Error).name).toBe('AbortError');
    expect(server.requests).toHaveLength(0);
  });
});
