import { describe, expect, it } from 'vitest';
import { assertValidReport } from '../../../../tests/helpers/schema';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';

const config = (extra: Record<string, unknown>) =>
  new MemorySource(new TextEncoder().encode(JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', ...extra })), 'config.json');

describe('remote code named by config.json', () => {
  it('custom_pipelines.*.impl is imported like an auto_map class', async () => {
    const { report } = await inspect([config({ custom_pipelines: { 'text-generation': { impl: 'attacker/pipe--pipeline_x.XPipeline', pt: ['AutoModelForCausalLM'] } } })]);
    assertValidReport(report);
    const f = report.findings.find((x) => x.id === 'huggingface/auto-map')!;
    expect(f).toMatchObject({ category: 'code-execution', severity: 'warning' });
    expect(f.title).toContain('custom_pipelines');
    expect(f.evidence).toMatchObject({ references: ['attacker/pipe--pipeline_x.XPipeline'], remote: ['attacker/pipe: pipeline_x.py'] });
    expect(f.offset).toBeGreaterThan(0);
  });
  it('auto_map and custom_pipelines together are one finding naming both', async () => {
    const { report } = await inspect([config({ auto_map: { AutoModel: 'modeling_x.XModel' }, custom_pipelines: { 'text-classification': { impl: 'pipe.P' } } })]);
    const f = report.findings.filter((x) => x.id === 'huggingface/auto-map');
    expect(f).toHaveLength(1);
    expect(f[0].title).toContain('(auto_map)');
    expect(f[0].evidence!.references).toEqual(['modeling_x.XModel', 'pipe.P']);
  });
  it('a config without either has no finding', async () => {
    const { report } = await inspect([config({ custom_pipelines: { 'text-generation': { pt: [] } } })]);
    expect(report.findings.filter((x) => x.id === 'huggingface/auto-map')).toEqual([]);
    expect(report.verdict).toBe('clean');
  });
});
