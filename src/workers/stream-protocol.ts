import type { TensorInfo } from '../core/model/types';
import type { StreamFileResult } from '../core/stream-file';

/** Messages between the page and a stream worker (one streaming pass per file: hash + statistics). */
export type StreamRequest =
  | { type: 'stream'; id: number; blob: Blob; name: string; tensors: TensorInfo[] }
  | { type: 'cancel'; id: number }
  /** the port of one of this worker's reducers (src/workers/reduce.worker.ts), each sent once at start */
  | { type: 'reducer-port'; kind: 'hash' | 'stats'; port: MessagePort }
  /** that reducer's worker died (an uncaught error): the pass waiting on it fails instead of waiting */
  | { type: 'reducer-failed'; kind: 'hash' | 'stats'; message: string };

export type StreamResponse =
  | { type: 'ready' }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'done'; id: number; result: StreamFileResult; mode: 'one-shot' | 'streaming' }
  | { type: 'error'; id: number; message: string; aborted: boolean };
