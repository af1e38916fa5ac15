import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../cli/node-source';
import { inspect, type InspectEvent } from './inspect';

const CLEAN = join(__dirname, '../../tests/fixtures/safetensors/clean-mlp.safetensors');

describe('inspect() events', () => {
  it('says what it is doing, in order: parse, header, the streaming pass, then each stage after it', async () => {
    const events: InspectEvent[] = [];
    const [source] = await sourcesFromPaths([CLEAN]);
    const [reference] = await sourcesFromPaths([CLEAN]);
    const { report } = await inspect([source], { reference: [reference], onEvent: (e) => events.push(e) });
    const kinds = events.map((e) => (e.type === 'stage' ? `stage:${e.stage}` : e.type)).filter((k, i, a) => k !== 'progress' || a[i - 1] !== 'progress');
    expect(kinds).toEqual(['start', 'parsed', 'header', 'progress', 'hashed', 'stage:analysing', 'stage:comparing']);
    expect(report.verdict).toBe('clean');
    await source.close();
    await reference.close();
    // no stage without a reason for it: no reference, no probes
    const plain: InspectEvent[] = [];
    const [again] = await sourcesFromPaths([CLEAN]);
    await inspect([again], { onEvent: (e) => plain.push(e) });
    await again.close();
    expect(plain.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage)).toEqual(['analysing']);
  });
});
