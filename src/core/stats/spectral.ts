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
 * min(rows, cols) ≤ SPECTRAL_EXACT_MAX (512): every eigenvalue of the smaller Gram matrix (Householder
 * tridiagonalisation, then bisection), so α is fitted as WeightWatcher fits it. Larger: σ_max by Lanczos on
 * the Gram operator (at most 40 steps from a fixed start; agrees with LAPACK's to ~1e-9 relative on the
 * test matrices), and no α: the tail fit needs the whole spectrum. The caller bounds the total work per
 * inspection (SPECTRAL_MAX_WORK, counted in multiply-adds so that a report does not depend on the machine).
 */
export interface SpectralMetrics {
  rows: number;
  cols: number;
  /** exact: every eigenvalue of the Gram matrix; lanczos: the largest only (earlier versions wrote jacobi / power) */
  method: 'exact' | 'lanczos';
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

/**
 * Eigenvalues of a symmetric n×n matrix (full storage, overwritten), ascending: Householder reduction to
 * tridiagonal form (Golub & Van Loan, Matrix Computations, 4th ed., Alg. 8.3.1; ~4/3·n³ flops), then every
 * eigenvalue of the tridiagonal matrix by bisection on Sturm sequence counts (GVL §8.4.1; ~60·n² flops),
 * which is accurate to a few units of roundoff times ‖A‖ and needs no shifts or convergence tests.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = A[k+1.., k]; H = I − β·v·vᵀ maps it onto α·e₁
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += a[i * n + k] * a[i * n + k];
    const x0 = a[(k + 1) * n + k];
    if (norm2 === 0) {
      e[k] = 0;
      continue;
    }
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    let vv = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vv += v[i] * v[i];
    }
    e[k] = alpha;
    if (vv === 0) continue;
    const beta = 2 / vv;
    // p = β·A'·v, w = p − (β/2)(pᵀv)·v, A' ← A' − v·wᵀ − w·vᵀ on the trailing block
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let acc = 0;
      const row = i * n;
      for (let j = k + 1; j < n; j++) acc += a[row + j] * v[j];
      p[i] = beta * acc;
      pv += p[i] * v[i];
    }
    const kk = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= kk * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      const wi = p[i];
      for (let j = k + 1; j <= i; j++) {
        const x = a[row + j] - vi * p[j] - wi * v[j];
        a[row + j] = x;
        a[j * n + i] = x;
      }
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  if (n >= 2) e[n - 2] = a[(n - 1) * n + n - 2];
  return tridiagonalEigenvalues(d, e);
}

/** Number of eigenvalues below x of the symmetric tridiagonal matrix (d, e): negative pivots of LDLᵀ(T − x). */
function sturmCount(d: Float64Array, e2: Float64Array, x: number, tiny: number): number {
  let count = 0;
  let q = d[0] - x;
  if (q < 0) count++;
  for (let i = 1; i < d.length; i++) {
    q = d[i] - x - e2[i - 1] / (q === 0 ? tiny : q);
    if (q < 0) count++;
  }
  return count;
}

/** All eigenvalues of the symmetric tridiagonal matrix with diagonal d and off-diagonal e, ascending. */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array, only?: number): Float64Array {
  const n = d.length;
  const e2 = Float64Array.from(e, (x) => x * x);
  // Gershgorin bounds
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  const tiny = scale * 1e-300 || Number.MIN_VALUE;
  const tol = 4 * Number.EPSILON * scale;
  const first = only ?? 0;
  const last = only ?? n - 1;
  const out = new Float64Array(last - first + 1);
  for (let k = first; k <= last; k++) {
    // the k-th smallest: the smallest x with more than k eigenvalues below it
    let a = lo;
    let b = hi;
    for (let it = 0; it < 200 && b - a > tol; it++) {
      const mid = a + (b - a) / 2;
      if (mid === a || mid === b) break;
      if (sturmCount(d, e2, mid, tiny) > k) b = mid;
      else a = mid;
    }
    out[k - first] = a + (b - a) / 2;
  }
  return out;
}

/**
 * Largest eigenvalue of the Gram operator of W (WᵀW on the smaller side) by the Lanczos method with full
 * reorthogonalisation (GVL §10.1), from a fixed start vector, stopping when the top Ritz value moves by less
 * than 1e-9 relative or after `maxSteps` products. Each step costs two passes over W (2·rows·cols
 * multiply-adds); the top Ritz value of a Krylov space converges far faster than power iteration.
 * Returns σ_max² and the steps taken.
 */
export function gramTopEigenvalue(w: Float32Array, rows: number, cols: number, maxSteps = 40): { lambda: number; steps: number } {
  const small = Math.min(rows, cols);
  const byRows = rows <= cols; // the operator acts on vectors of the smaller side
  const basis: Float64Array[] = [];
  const alphas: number[] = [];
  const betas: number[] = [];
  let q = new Float64Array(small);
  for (let i = 0; i < small; i++) q[i] = 1 + ((Math.imul(i + 1, 0x9e3779b1) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  let nq = 0;
  for (const x of q) nq += x * x;
  nq = Math.sqrt(nq);
  for (let i = 0; i < small; i++) q[i] /= nq;
  const t = new Float64Array(byRows ? cols : rows);
  let lambda = 0;
  let steps = 0;
  for (let s = 0; s < Math.min(maxSteps, small); s++) {
    basis.push(q);
    // z = G·q with G = W·Wᵀ (byRows) or Wᵀ·W, through the larger side's vector t
    t.fill(0);
    const z = new Float64Array(small);
    if (byRows) {
      for (let r = 0; r < rows; r++) {
        const x = q[r];
        if (x === 0) continue;
        const b = r * cols;
        for (let c = 0; c < cols; c++) t[c] += w[b + c] * x;
      }
      for (let r = 0; r < rows; r++) {
        let acc = 0;
        const b = r * cols;
        for (let c = 0; c < cols; c++) acc += w[b + c] * t[c];
        z[r] = acc;
      }
    } else {
      for (let r = 0; r < rows; r++) {
        let acc = 0;
        const b = r * cols;
        for (let c = 0; c < cols; c++) acc += w[b + c] * q[c];
        t[r] = acc;
      }
      for (let r = 0; r < rows; r++) {
        const x = t[r];
        if (x === 0) continue;
        const b = r * cols;
        for (let c = 0; c < cols; c++) z[c] += w[b + c] * x;
      }
    }
    let alpha = 0;
    for (let i = 0; i < small; i++) alpha += z[i] * q[i];
    alphas.push(alpha);
    // full reorthogonalisation against every earlier vector, twice ("twice is enough")
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let dot = 0;
        for (let i = 0; i < small; i++) dot += z[i] * b[i];
        for (let i = 0; i < small; i++) z[i] -= dot * b[i];
      }
    }
    let beta = 0;
    for (const x of z) beta += x * x;
    beta = Math.sqrt(beta);
    steps = s + 1;
    const top = tridiagonalEigenvalues(Float64Array.from(alphas), Float64Array.from(betas), alphas.length - 1)[0];
    const converged = Math.abs(top - lambda) <= 1e-9 * Math.abs(top);
    lambda = top;
    if (converged || beta <= 1e-12 * Math.abs(top)) break;
    betas.push(beta);
    for (let i = 0; i < small; i++) z[i] /= beta;
    q = z;
  }
  return { lambda: Math.max(lambda, 0), steps };
}

/** Multiply-adds the exact method costs for W [rows, cols]: the Gram matrix and its tridiagonal reduction. */
export function exactSpectralCost(rows: number, cols: number): number {
  const n = Math.min(rows, cols);
  const m = Math.max(rows, cols);
  return (n * n * m) / 2 + (4 / 3) * n * n * n;
}

/** Multiply-adds the iterative method costs at most for W [rows, cols]. */
export function iterativeSpectralCost(rows: number, cols: number, steps = 40): number {
  return 2 * rows * cols * Math.min(steps, rows, cols);
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

/** The method computeSpectralMetrics uses for W [rows, cols] and its cost in multiply-adds (at most). */
export function spectralPlan(rows: number, cols: number): { method: 'exact' | 'lanczos'; cost: number } {
  return Math.min(rows, cols) <= SPECTRAL_EXACT_MAX ? { method: 'exact', cost: exactSpectralCost(rows, cols) } : { method: 'lanczos', cost: iterativeSpectralCost(rows, cols) };
}

/** Spectral metrics of W [rows, cols], or null when the matrix is empty, non-finite or too large. */
export function computeSpectralMetrics(w: Float32Array, rows: number, cols: number): SpectralMetrics | null {
  if (rows < 2 || cols < 2 || rows * cols > SPECTRAL_MAX_ELEMENTS || w.length < rows * cols) return null;
  let fro2 = 0;
  for (let i = 0; i < rows * cols; i++) fro2 += w[i] * w[i];
  if (!Number.isFinite(fro2)) return null;
  const frobeniusNorm = Math.sqrt(fro2);
  if (spectralPlan(rows, cols).method === 'exact') {
    const { g, n } = gram(w, rows, cols);
    const ev = symmetricEigenvalues(g, n);
    const top = Math.max(ev[n - 1], 0);
    const spectralNorm = Math.sqrt(top);
    // ESD of X = WᵀW / N with N the larger dimension (WeightWatcher's normalisation)
    const esd = Float64Array.from(ev, (x) => Math.max(x, 0) / Math.max(rows, cols));
    const fit = fitPowerLaw(esd);
    return {
      rows, cols, method: 'exact', spectralNorm, frobeniusNorm, stableRank: top > 0 ? fro2 / top : 0,
      alpha: fit?.alpha ?? null, xmin: fit ? fit.xmin : null, tailCount: fit?.n ?? null, ksDistance: fit?.ks ?? null,
    };
  }
  const { lambda } = gramTopEigenvalue(w, rows, cols);
  const s = Math.sqrt(lambda);
  return { rows, cols, method: 'lanczos', spectralNorm: s, frobeniusNorm, stableRank: s > 0 ? fro2 / (s * s) : 0, alpha: null, xmin: null, tailCount: null, ksDistance: null };
}
