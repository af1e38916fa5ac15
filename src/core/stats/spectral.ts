import { SPECTRAL_EXACT_MAX, SPECTRAL_MAX_ELEMENTS } from '../io/limits';

/**
 * Spectral metrics of a weight matrix W [rows, cols] (row-major float32):
 * - spectral norm σ_max and stable rank ‖W‖_F² / σ_max² (Rudelson & Vershynin 2007);
 * - WeightWatcher's power-law exponent α of the empirical spectral density of X = WᵀW / N
 *   (Martin & Mahoney, "Implicit self-regularization in deep neural networks", JMLR 2021): eigenvalues λ
 *   of the smaller Gram matrix, a continuous power law p(λ) ∝ λ^−α fitted to the tail λ ≥ x_min by maximum
 *   likelihood, α = 1 + n / Σ ln(λ_i / x_min) (Clauset, Shalizi & Newman 2009, eq. 3.1), with x_min chosen
 *   among the eigenvalues to minimise the Kolmogorov–Smirnov distance between the empirical tail and the
 *   fit, as the `powerlaw` package used by WeightWatcher does. Well-trained layers give α ≈ 2–6; random
 *   (untrained) layers follow Marchenko–Pastur and give large α.
 *
 * min(rows, cols) ≤ SPECTRAL_EXACT_MAX: exact eigenvalues by cyclic Jacobi rotations on the Gram matrix
 * (symmetric, so Jacobi converges quadratically and needs no shifts). Larger: σ_max by power iteration on
 * WᵀW (60 steps from a fixed start, relative error typically < 1e-6 for a separated top singular value),
 * no α.
 */
export interface SpectralMetrics {
  rows: number;
  cols: number;
  method: 'jacobi' | 'power';
  spectralNorm: number;
  frobeniusNorm: number;
  stableRank: number;
  /** power-law exponent of the ESD tail; null when not exact or the tail is too short */
  alpha: number | null;
  xmin: number | null;
  /** eigenvalues in the fitted tail */
  tailCount: number | null;
  ksDistance: number | null;
}

/** Gram matrix of the smaller side: G = W Wᵀ (rows ≤ cols) or WᵀW, as a dense n×n Float64Array. */
function gram(w: Float32Array, rows: number, cols: number): { g: Float64Array; n: number } {
  if (rows <= cols) {
    const g = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) {
      for (let j = i; j < rows; j++) {
        let s = 0;
        const a = i * cols;
        const b = j * cols;
        for (let k = 0; k < cols; k++) s += w[a + k] * w[b + k];
        g[i * rows + j] = s;
        g[j * rows + i] = s;
      }
    }
    return { g, n: rows };
  }
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let i = 0; i < cols; i++) {
      const x = w[base + i];
      if (x === 0) continue;
      const gi = i * cols;
      for (let j = i; j < cols; j++) g[gi + j] += x * w[base + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i];
  return { g, n: cols };
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan §8.5), in place. */
export function symmetricEigenvalues(a: Float64Array, n: number, maxSweeps = 30): Float64Array {
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-22 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  const ev = new Float64Array(n);
  for (let i = 0; i < n; i++) ev[i] = a[i * n + i];
  return ev.sort();
}

/** Largest singular value by power iteration on WᵀW. */
export function spectralNormPower(w: Float32Array, rows: number, cols: number, steps = 60): number {
  let v = new Float64Array(cols);
  for (let i = 0; i < cols; i++) v[i] = 1 + ((Math.imul(i + 1, 0x9e3779b1) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  const u = new Float64Array(rows);
  let sigma = 0;
  for (let s = 0; s < steps; s++) {
    let nv = 0;
    for (const x of v) nv += x * x;
    nv = Math.sqrt(nv) || 1;
    for (let i = 0; i < cols; i++) v[i] /= nv;
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      const b = r * cols;
      for (let c = 0; c < cols; c++) acc += w[b + c] * v[c];
      u[r] = acc;
    }
    let nu = 0;
    for (const x of u) nu += x * x;
    sigma = Math.sqrt(nu);
    const nvv = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const x = u[r];
      if (x === 0) continue;
      const b = r * cols;
      for (let c = 0; c < cols; c++) nvv[c] += w[b + c] * x;
    }
    v = nvv;
  }
  return sigma;
}

/**
 * Continuous power-law fit of the tail of sorted-ascending positive values (Clauset et al. 2009): for every
 * candidate x_min (each distinct value leaving ≥ minTail values), α̂ = 1 + n / Σ ln(x_i/x_min) and the KS
 * distance between the empirical tail CDF and 1 − (x/x_min)^(1−α̂); the candidate with the smallest KS wins.
 */
export function fitPowerLaw(sorted: Float64Array, minTail = 5): { alpha: number; xmin: number; n: number; ks: number } | null {
  const vals = sorted.filter((x) => x > 0);
  const m = vals.length;
  if (m < minTail) return null;
  // suffix sums of ln x for O(1) α per candidate
  const logs = Float64Array.from(vals, Math.log);
  const suffix = new Float64Array(m + 1);
  for (let i = m - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + logs[i];
  let best: { alpha: number; xmin: number; n: number; ks: number } | null = null;
  for (let i = 0; i <= m - minTail; i++) {
    if (i > 0 && vals[i] === vals[i - 1]) continue;
    const n = m - i;
    const xmin = vals[i];
    const denom = suffix[i] - n * logs[i];
    if (!(denom > 0)) continue;
    const alpha = 1 + n / denom;
    let ks = 0;
    for (let k = 0; k < n; k++) {
      const fit = 1 - Math.pow(vals[i + k] / xmin, 1 - alpha);
      const emp = k / n;
      const emp1 = (k + 1) / n;
      ks = Math.max(ks, Math.abs(fit - emp), Math.abs(fit - emp1));
    }
    if (!best || ks < best.ks) best = { alpha, xmin, n, ks };
  }
  return best;
}

/** Spectral metrics of W [rows, cols], or null when the matrix is empty, non-finite or too large. */
export function computeSpectralMetrics(w: Float32Array, rows: number, cols: number): SpectralMetrics | null {
  if (rows < 2 || cols < 2 || rows * cols > SPECTRAL_MAX_ELEMENTS || w.length < rows * cols) return null;
  let fro2 = 0;
  for (let i = 0; i < rows * cols; i++) fro2 += w[i] * w[i];
  if (!Number.isFinite(fro2)) return null;
  const frobeniusNorm = Math.sqrt(fro2);
  if (Math.min(rows, cols) <= SPECTRAL_EXACT_MAX) {
    const { g, n } = gram(w, rows, cols);
    const ev = symmetricEigenvalues(g, n);
    const top = Math.max(ev[n - 1], 0);
    const spectralNorm = Math.sqrt(top);
    // ESD of X = WᵀW / N with N the larger dimension (WeightWatcher's normalisation)
    const esd = Float64Array.from(ev, (x) => Math.max(x, 0) / Math.max(rows, cols));
    const fit = fitPowerLaw(esd);
    return {
      rows, cols, method: 'jacobi', spectralNorm, frobeniusNorm, stableRank: top > 0 ? fro2 / top : 0,
      alpha: fit?.alpha ?? null, xmin: fit ? fit.xmin : null, tailCount: fit?.n ?? null, ksDistance: fit?.ks ?? null,
    };
  }
  const s = spectralNormPower(w, rows, cols);
  return { rows, cols, method: 'power', spectralNorm: s, frobeniusNorm, stableRank: s > 0 ? fro2 / (s * s) : 0, alpha: null, xmin: null, tailCount: null, ksDistance: null };
}
