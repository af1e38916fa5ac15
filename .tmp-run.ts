import { readFileSync } from 'node:fs';
import { MemorySource } from './src/core/io/byte-source';
import { runProbes } from './src/core/probes/run-probes';
import { nodeBackendFactory } from './cli/ort-node';
const files = process.argv.slice(2);
for (const p of files) {
  const name = p.split('/').pop()!;
  const src = new MemorySource(new Uint8Array(readFileSync(p)), name);
  const t0 = performance.now();
  const r = await runProbes({ format: 'onnx', files: [name], tensors: [], metadata: {} }, [src], nodeBackendFactory);
  console.log('==', p, (performance.now()-t0).toFixed(0)+'ms', r.status, r.reason, r.backend?.name, JSON.stringify(r.inputs));
  console.log(' checks', r.checks.map(c => `${c.id}:${c.passed}`).join(' '), 'lat', r.latency.map(l => `${l.what}:${l.medianMs}`).join(' '));
  for (const l of r.layers) console.log(' layer', l.name, l.units, 'hist', l.rateHistogram.join(','), 'dormant', l.dormantUnits, 'medGain', l.medianGain?.toFixed(3), 'flagged', l.flagged.join(','));
  console.log(' flagged', r.flaggedUnits.map(u => `${u.unit}:r${u.rate.toFixed(2)} g${u.gain?.toFixed(0)} p${u.pathGain?.toFixed(0)} z${u.biasTailZ?.toFixed(1)}`).join(' '));
  if (r.latch) console.log(' latch', r.latch.latched.map(u => `${u.layer}:${u.unit}`).join(' '));
  if (r.trigger) console.log(' trigger', JSON.stringify(r.trigger.variants), r.trigger.patchesTried, JSON.stringify(r.trigger.candidates.slice(0,3)));
  console.log(' findings', r.findings.map(f => `${f.severity}:${f.id}`).join(' '));
}
