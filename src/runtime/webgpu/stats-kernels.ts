/**
 * WGSL compute kernels for the per-chunk reduction of src/core/stats/reduce.ts. Values arrive as raw
 * float32 bit patterns (array<u32>) so NaN/Inf/subnormal classification is exact and identical to the
 * CPU's, whatever the adapter does with special floats (SwiftShader and some drivers flush subnormals).
 *
 * `reduce`: one workgroup of 256 threads per block of ELEMENTS_PER_GROUP values; each thread keeps local
 * min/max/sum/sumsq (f32) and counts, then a shared-memory tree reduction writes one partial per group.
 * Partials are combined on the CPU in float64, so the sum's relative error is that of a float32 sum over
 * ELEMENTS_PER_GROUP / 256 = 16 values plus a 256-way tree: about 1e-6 relative.
 *
 * `histogram`: atomicAdd into the 8192 log-linear bins (bits >> 19), exact.
 */
export const WORKGROUP = 256;
export const ELEMENTS_PER_GROUP = 4096;
export const LOG_BINS = 8192;

/** f32 partials per workgroup: min, max, sum, sumsq. u32 partials: zeros, nan, +inf, −inf, subnormal. */
export const F_PARTS = 4;
export const U_PARTS = 5;

export const REDUCE_WGSL = /* wgsl */ `
struct Params { n: u32, groups: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> fparts: array<f32>;
@group(0) @binding(2) var<storage, read_write> uparts: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> smin: array<f32, ${WORKGROUP}>;
var<workgroup> smax: array<f32, ${WORKGROUP}>;
var<workgroup> ssum: array<f32, ${WORKGROUP}>;
var<workgroup> ssq: array<f32, ${WORKGROUP}>;
var<workgroup> scount: array<vec4<u32>, ${WORKGROUP}>;
var<workgroup> ssub: array<u32, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn reduce(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let group = wid.x + wid.y * nwg.x;
  let start = group * ${ELEMENTS_PER_GROUP}u;
  let end = min(start + ${ELEMENTS_PER_GROUP}u, params.n);
  var mn = 3.4028234663852886e38;
  var mx = -3.4028234663852886e38;
  var s = 0.0;
  var sq = 0.0;
  var c = vec4<u32>(0u, 0u, 0u, 0u); // zeros, nan, +inf, -inf
  var sub = 0u;
  var i = start + lid.x;
  loop {
    if (i >= end) { break; }
    let b = data[i];
    let e = b & 0x7f800000u;
    if (e == 0x7f800000u) {
      if ((b & 0x007fffffu) != 0u) { c.y += 1u; } else if ((b & 0x80000000u) != 0u) { c.w += 1u; } else { c.z += 1u; }
    } else {
      if (e == 0u) {
        if ((b & 0x7fffffffu) == 0u) { c.x += 1u; } else { sub += 1u; }
      }
      let x = bitcast<f32>(b);
      mn = min(mn, x);
      mx = max(mx, x);
      s += x;
      sq += x * x;
    }
    i += ${WORKGROUP}u;
  }
  smin[lid.x] = mn; smax[lid.x] = mx; ssum[lid.x] = s; ssq[lid.x] = sq; scount[lid.x] = c; ssub[lid.x] = sub;
  workgroupBarrier();
  var stride = ${WORKGROUP / 2}u;
  loop {
    if (stride == 0u) { break; }
    if (lid.x < stride) {
      let o = lid.x + stride;
      smin[lid.x] = min(smin[lid.x], smin[o]);
      smax[lid.x] = max(smax[lid.x], smax[o]);
      ssum[lid.x] = ssum[lid.x] + ssum[o];
      ssq[lid.x] = ssq[lid.x] + ssq[o];
      scount[lid.x] = scount[lid.x] + scount[o];
      ssub[lid.x] = ssub[lid.x] + ssub[o];
    }
    workgroupBarrier();
    stride = stride / 2u;
  }
  if (lid.x == 0u && group < params.groups) {
    fparts[group * ${F_PARTS}u + 0u] = smin[0];
    fparts[group * ${F_PARTS}u + 1u] = smax[0];
    fparts[group * ${F_PARTS}u + 2u] = ssum[0];
    fparts[group * ${F_PARTS}u + 3u] = ssq[0];
    let k = scount[0];
    uparts[group * ${U_PARTS}u + 0u] = k.x;
    uparts[group * ${U_PARTS}u + 1u] = k.y;
    uparts[group * ${U_PARTS}u + 2u] = k.z;
    uparts[group * ${U_PARTS}u + 3u] = k.w;
    uparts[group * ${U_PARTS}u + 4u] = ssub[0];
  }
}
`;

export const HISTOGRAM_WGSL = /* wgsl */ `
struct Params { n: u32, groups: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> bins: array<atomic<u32>, ${LOG_BINS}>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP})
fn histogram(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (i >= params.n) { return; }
  let b = data[i];
  if ((b & 0x7f800000u) == 0x7f800000u) { return; }
  atomicAdd(&bins[b >> 19u], 1u);
}
`;
