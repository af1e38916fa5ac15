import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A local stand-in for the Hugging Face Hub API (routes in shared/STACK.md), serving the responses kept in
 * tests/fixtures/hub/<owner>__<repo>/<revision>/{tree,paths-info}.json. Tests never touch the internet.
 */

export const HUB_FIXTURES = join(__dirname, '../fixtures/hub');

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface HubServerOptions {
  /** entries per tree page; the next page is announced in a `Link` header as the Hub does */
  pageSize?: number;
  /** send this origin in the next-page `Link` header instead of our own (a hostile server) */
  nextPageOrigin?: string;
  /** answer paths-info with this HTTP status */
  pathsInfoStatus?: number;
  /** answer the tree route with this body instead of the fixture */
  treeBody?: string;
}

export interface HubServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

function load(owner: string, repo: string, rev: string, file: string): unknown[] | null {
  const p = join(HUB_FIXTURES, `${owner}__${repo}`, encodeURIComponent(rev), file);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as unknown[]) : null;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function repoMissing(res: ServerResponse, owner: string, repo: string, rev: string): boolean {
  if (!existsSync(join(HUB_FIXTURES, `${owner}__${repo}`))) {
    // The Hub answers 401 for a repository that does not exist (or is private) to anonymous callers.
    json(res, 401, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    return true;
  }
  if (!existsSync(join(HUB_FIXTURES, `${owner}__${repo}`, encodeURIComponent(rev)))) {
    json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    return true;
  }
  return false;
}

export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const requests: RecordedRequest[] = [];
  const pageSize = options.pageSize ?? 1000;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const u = new URL(req.url ?? '/', 'http://local');
      const parts = u.pathname.split('/').slice(1).map(decodeURIComponent);
      // GET /api/models/{owner}/{repo}/tree/{rev}[/{path}]?recursive=…&expand=…[&cursor=N]
      if (req.method === 'GET' && parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'tree') {
        const [, , owner, repo, , rev] = parts;
        if (repoMissing(res, owner, repo, rev)) return;
        if (options.treeBody !== undefined) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(options.treeBody);
          return;
        }
        let entries = load(owner, repo, rev, 'tree.json') ?? [];
        if (u.searchParams.get('recursive') !== 'true') entries = entries.filter((e) => !(e as { path: string }).path.includes('/'));
        const at = Number(u.searchParams.get('cursor') ?? '0');
        const page = entries.slice(at, at + pageSize);
        const headers: Record<string, string> = {};
        if (at + pageSize < entries.length) {
          const next = new URL(u.pathname + u.search, options.nextPageOrigin ?? `http://${req.headers.host}`);
          next.searchParams.set('cursor', String(at + pageSize));
          headers.Link = `<${next.href}>; rel="next"`;
        }
        json(res, 200, page, headers);
        return;
      }
      // POST /api/models/{owner}/{repo}/paths-info/{rev}  body {paths, expand}
      if (req.method === 'POST' && parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'paths-info') {
        const [, , owner, repo, , rev] = parts;
        if (repoMissing(res, owner, repo, rev)) return;
        if (options.pathsInfoStatus) return json(res, options.pathsInfoStatus, { error: 'Internal Error' });
        const { paths, expand } = JSON.parse(body || '{}') as { paths?: string[]; expand?: boolean };
        const all = (load(owner, repo, rev, 'paths-info.json') ?? []) as Record<string, unknown>[];
        const out = all
          .filter((e) => (paths ?? []).includes(e.path as string))
          .map((e) => {
            if (expand) return e;
            const { lastCommit: _c, securityFileStatus: _s, ...rest } = e;
            return rest;
          });
        return json(res, 200, out);
      }
      // GET /{owner}/{repo}/resolve/{rev}/{path} (Range: bytes=0-0) and HEAD /{owner}/{repo}/raw/{rev}/{path}
      if ((parts[2] === 'resolve' && req.method === 'GET') || (parts[2] === 'raw' && req.method === 'HEAD')) {
        const [owner, repo, , rev, ...rest] = parts;
        if (repoMissing(res, owner, repo, rev)) return;
        const path = rest.join('/');
        const e = ((load(owner, repo, rev, 'tree.json') ?? []) as { path: string; size: number; oid: string; lfs?: { oid: string } }[]).find((x) => x.path === path);
        if (!e) {
          res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
          res.end();
          return;
        }
        const etag = `"${e.lfs?.oid ?? e.oid}"`;
        if (parts[2] === 'raw') {
          res.writeHead(200, { ETag: `"${e.oid}"`, 'Content-Length': String(e.size) });
          res.end();
          return;
        }
        res.writeHead(206, { 'Content-Range': `bytes 0-0/${e.size}`, ETag: etag, 'X-Linked-ETag': etag, 'X-Linked-Size': String(e.size), 'Content-Length': '1' });
        res.end(Buffer.from([0]));
        return;
      }
      json(res, 404, { error: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
