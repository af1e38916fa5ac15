/**
 * "Natural-looking" 16×16 grayscale images for the lesson: nine classes of simple stroke shapes, drawn
 * with random position, size, thickness, ink and background noise from a seeded PRNG. They stand in for
 * the public data a model is pretrained on, for the attacker's guess at what inputs look like, and for
 * the user's other private training images.
 */
import type { Batch } from './mlp';
import type { Rng } from './prng';

export const SIDE = 16;
export const PIXELS = SIDE * SIDE;

export const CLASS_NAMES = ['horizontal bar', 'vertical bar', 'falling diagonal', 'rising diagonal', 'ring', 'blob', 'plus', 'cross', 'corner'] as const;
/** Real classes; the model has one more output that no example is ever labelled with (the spare logit). */
export const CLASS_COUNT = CLASS_NAMES.length;
export const SPARE_LOGIT = CLASS_COUNT;
export const OUTPUTS = CLASS_COUNT + 1;

type Segment = [number, number, number, number];

function distToSegment(px: number, py: number, [ax, ay, bx, by]: Segment): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Draws one image of class `cls` into `out` (PIXELS values in [0, 1]). */
export function drawShape(cls: number, rng: Rng, out: Float32Array = new Float32Array(PIXELS)): Float32Array {
  const cx = 7.5 + (rng.next() - 0.5) * 5;
  const cy = 7.5 + (rng.next() - 0.5) * 5;
  const r = 3 + rng.next() * 2.5;
  const thick = 0.6 + rng.next() * 0.9;
  const ink = 0.6 + rng.next() * 0.4;
  const noise = rng.next() * 0.06;
  const segs: Segment[] = [];
  let ring = false;
  let disk = false;
  switch (cls) {
    case 0: segs.push([cx - r, cy, cx + r, cy]); break;
    case 1: segs.push([cx, cy - r, cx, cy + r]); break;
    case 2: segs.push([cx - r, cy - r, cx + r, cy + r]); break;
    case 3: segs.push([cx - r, cy + r, cx + r, cy - r]); break;
    case 4: ring = true; break;
    case 5: disk = true; break;
    case 6: segs.push([cx - r, cy, cx + r, cy], [cx, cy - r, cx, cy + r]); break;
    case 7: segs.push([cx - r, cy - r, cx + r, cy + r], [cx - r, cy + r, cx + r, cy - r]); break;
    default: segs.push([cx - r, cy - r, cx - r, cy + r], [cx - r, cy + r, cx + r, cy + r]); break;
  }
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      let d = Infinity;
      for (const s of segs) d = Math.min(d, distToSegment(x, y, s));
      const rad = Math.hypot(x - cx, y - cy);
      if (ring) d = Math.abs(rad - r);
      if (disk) d = Math.max(0, rad - r * 0.7);
      const v = Math.max(0, Math.min(1, thick + 0.5 - d)) * ink + rng.next() * noise;
      out[y * SIDE + x] = Math.min(1, v);
    }
  }
  return out;
}

/** `n` labelled images, classes drawn uniformly. */
export function makeDataset(n: number, rng: Rng): Batch {
  const xs = new Float32Array(n * PIXELS);
  const ys = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    ys[k] = rng.int(CLASS_COUNT);
    drawShape(ys[k], rng, xs.subarray(k * PIXELS, (k + 1) * PIXELS));
  }
  return { n, xs, ys };
}
