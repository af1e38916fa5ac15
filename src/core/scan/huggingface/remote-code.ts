import type { Analysis, AnalysisContext } from '../../analysis';
import type { HfConfigExtra } from '../../formats/hf/parse-hf-config';
import { basename, dirname, joinPath } from '../../io/paths';
import type { Finding } from '../../report/finding';

/**
 * Hugging Face folders that ship Python (THREATS.md §6). `auto_map` in config.json or
 * tokenizer_config.json makes `from_pretrained(..., trust_remote_code=True)` import the named modules
 * from the folder (or from another repository, for `repo--module.Class`) and run them; any `.py` file
 * in a model folder is such code waiting for that flag. Both are warnings: legitimate models (Phi-3
 * before transformers 4.40, many research models) need them, and only reading the code tells.
 */
export const huggingFaceRemoteCodeAnalysis: Analysis = {
  id: 'huggingface-remote-code',
  phase: 'header',
  async run(ctx: AnalysisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    const paths = ctx.folder.paths();
    const pyFiles = paths.filter((p) => /\.py$/i.test(p));
    const referenced = new Set<string>();
    for (const f of ctx.files) {
      const parse = f.parses.find((p) => p.format === 'hf-config');
      const extra = parse?.extra as HfConfigExtra | undefined;
      if (!extra || extra.autoMap.length === 0) continue;
      const dir = dirname(f.source.name);
      const modules = [...new Set(extra.autoMap.filter((r) => !r.repo).map((r) => joinPath(dir, r.moduleFile)))];
      const present = modules.filter((m) => ctx.folder.get(m) !== undefined);
      const missing = modules.filter((m) => ctx.folder.get(m) === undefined);
      const remote = [...new Set(extra.autoMap.filter((r) => r.repo).map((r) => `${r.repo}: ${r.moduleFile}`))];
      modules.forEach((m) => referenced.add(m));
      const parts = [
        present.length ? `in this folder: ${present.join(', ')}` : '',
        missing.length ? `not in the dropped files (fetched from the Hub at load time): ${missing.join(', ')}` : '',
        remote.length ? `from other repositories: ${remote.join(', ')}` : '',
      ].filter(Boolean);
      findings.push({
        id: 'huggingface/auto-map',
        category: 'code-execution',
        severity: 'warning',
        title: `${basename(f.source.name)} loads custom Python code (${extra.autoMap.some((r) => !r.auto.startsWith('custom_pipelines.')) ? 'auto_map' : 'custom_pipelines'})`,
        detail: `${extra.autoMap.map((r) => r.auto).join(', ')} name${extra.autoMap.length === 1 ? 's' : ''} classes in Python modules, which transformers imports and runs when the model (or its pipeline) is loaded with trust_remote_code=True. Modules ${parts.join('; ')}. Read that code before trusting the model.`,
        file: f.source.name,
        offset: extra.autoMapOffset,
        evidence: { references: extra.autoMap.map((r) => r.reference), modules, present, missing, remote },
      });
    }
    if (pyFiles.length) {
      findings.push({
        id: 'huggingface/python-files',
        category: 'code-execution',
        severity: 'warning',
        title: `${pyFiles.length} Python file${pyFiles.length > 1 ? 's' : ''} in the model folder`,
        detail: `${pyFiles.slice(0, 10).join(', ')}${pyFiles.length > 10 ? ', ...' : ''}: Python shipped with a model runs when it is loaded with trust_remote_code=True${pyFiles.some((p) => referenced.has(p)) ? ' (auto_map names some of them)' : ''}. Tamperscope does not analyse Python code; read it before trusting the model.`,
        file: pyFiles[0],
        evidence: { files: pyFiles.slice(0, 100), referencedByAutoMap: pyFiles.filter((p) => referenced.has(p)) },
      });
    }
    return findings;
  },
};
