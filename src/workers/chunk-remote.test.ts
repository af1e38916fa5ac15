import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../core/formats/safetensors/parse-safetensors';
import { MemorySource, type ByteSource } from '../core/io/byte-source';
import { streamFile } from '../core/stream-file';
import { MAX_IN_FLIGHT, remoteSha256, remoteStatsConsumer, serveRemote, type RemoteMessage, type RemotePort, type RemoteReply } from './chunk-remote';

const bytes = new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures/calibration/stats-tensors.safetensors')));

/** Two ends of an asynchronous in-process channel (structured clone, like postMessage); counts chunks in flight. */
function channel(transferring = false) {
  const a: ((m: unknown) => void)[] = [];
  const b: ((m: unknown) => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client: RemotePort<RemoteMessage> = {
    post: (msg, transfer) => {
      if (msg.type === 'chunk') maxInFlight = Math.max(maxInFlight, ++inFlight);
      const copy = structuredClone(msg, { transfer: transferring ? transfer : [] });
      setTimeout(() => b.forEach((h) => h(copy)), 1);
    },
    listen: (h) => (a.push(h), () => a.splice(a.indexOf(h), 1)),
  };
  const server: RemotePort<RemoteReply> = {
    post: (msg, transfer) => {
      if (msg.type === 'ack') inFlight--;
      const copy = structuredClone(msg, { transfer: transferring ? transfer : [] });
      setTimeout(() => a.forEach((h) => h(copy)), 1);
    },
    listen: (h) => (b.push(h), () => b.splice(b.indexOf(h), 1)),
  };
  return { client, server, maxInFlight: () => maxInFlight };
}

describe('statistics on another thread', () => {
  it('gives the same results as the in-thread pass, with at most MAX_IN_FLIGHT chunks handed over', async () => {
    const source = new MemorySource(bytes, 'stats.safetensors');
    const p = await parseSafetensors({ name: source.name, size: source.size, head: bytes.subarray(0, 65536), tail: bytes, source, folder: { get: () => undefined, paths: () => [] } });
    const tensors = p.model!.tensors;
    const local = await streamFile(source, { tensors, chunkSize: 4093 });
    const ch = channel();
    serveRemote(ch.server);
    const remote = await streamFile(source, { tensors, chunkSize: 4093, statsSink: (t) => remoteStatsConsumer(ch.client, t, false) });
    expect(remote).toEqual(local);
    expect(ch.maxInFlight()).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    // the source's bytes were copied, not transferred or changed
    expect((await streamFile(source, { tensors, stats: false })).sha256).toBe(local.sha256);
    // the same channel serves the next pass
    const again = await streamFile(source, { tensors, chunkSize: 1 << 20, statsSink: (t) => remoteStatsConsumer(ch.client, t, false) });
    expect(again.stats).toEqual((await streamFile(source, { tensors, chunkSize: 1 << 20 })).stats);
  });

  it('gives every transferred chunk buffer back to the reads: a long pass reads into a handful of buffers', async () => {
    const source = new MemorySource(bytes, 'stats.safetensors');
    const p = await parseSafetensors({ name: source.name, size: source.size, head: bytes.subarray(0, 65536), tail: bytes, source, folder: { get: () => undefined, paths: () => [] } });
    const tensors = p.model!.tensors;
    const local = await streamFile(source, { tensors, chunkSize: 4096 });
    // a source read into the caller's buffers (as files are)
    let reads = 0;
    const into: ByteSource = {
      name: source.name,
      size: source.size,
      read: (o, n) => source.read(o, n),
      readInto: async (o, target) => {
        reads++;
        target.set(await source.read(o, target.length));
        return target;
      },
    };
    const ch = channel(true);
    serveRemote(ch.server);
    let reused = 0;
    const remote = await streamFile(into, {
      tensors,
      chunkSize: 4096,
      statsSink: (t, buffers) => {
        // every buffer taken from the pass's pool is one the reads did not have to allocate
        const pop = buffers.pop.bind(buffers);
        buffers.pop = () => {
          const b = pop();
          if (b) reused++;
          return b;
        };
        return remoteStatsConsumer(ch.client, t, true, undefined, buffers);
      },
    });
    expect(remote).toEqual(local);
    expect(reads).toBe(Math.ceil(bytes.length / 4096));
    expect(reads).toBeGreaterThan(20);
    // allocated: two being read or reduced on this side, MAX_IN_FLIGHT on the other, one on its way back
    expect(reads - reused).toBeLessThanOrEqual(MAX_IN_FLIGHT + 3);
  });

  it('hashes on the other side: the digest equals the in-thread one, for every chunk size, on one channel', async () => {
    const source = new MemorySource(bytes, 'stats.safetensors');
    const ch = channel();
    serveRemote(ch.server);
    const local = (await streamFile(source, { stats: false })).sha256;
    for (const chunkSize of [4093, 65536, 1 << 20]) {
      const remote = await streamFile(source, { stats: false, chunkSize, hashFactory: remoteSha256(ch.client) });
      expect(remote.sha256).toBe(local);
    }
    expect(ch.maxInFlight()).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  });

  it('a pass waiting on a reducer that died fails with its message instead of waiting for ever', async () => {
    const source = new MemorySource(bytes, 'stats.safetensors');
    const handlers: ((m: unknown) => void)[] = [];
    let posted = 0;
    // a port whose other side never answers, as when the reducer's worker died
    const dead: RemotePort<RemoteMessage> = {
      post: (msg) => {
        if (msg.type === 'chunk' && ++posted === MAX_IN_FLIGHT) setTimeout(() => handlers.forEach((h) => h({ type: 'error', stream: -1, message: 'the worker stopped' })), 5);
      },
      listen: (h) => (handlers.push(h), () => handlers.splice(handlers.indexOf(h), 1)),
    };
    await expect(streamFile(source, { stats: false, chunkSize: 4096, hashFactory: remoteSha256(dead) })).rejects.toThrow(/hash worker: the worker stopped/);
    expect(handlers).toHaveLength(0);
  });
});
