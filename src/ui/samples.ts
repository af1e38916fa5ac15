/** Models bundled in public/samples/ so a newcomer sees a full inspection at once. */
export interface Sample {
  id: string;
  title: string;
  description: string;
  /** paths under public/samples/, relative to the sample's folder */
  files: string[];
  folder: string;
}

export const SAMPLES: Sample[] = [
  {
    id: 'clean-mlp',
    title: 'Clean MLP (safetensors)',
    description: 'A small two-layer network written from a PyTorch state_dict. Expect: no known risk.',
    folder: 'clean-mlp',
    files: ['model.safetensors'],
  },
  {
    id: 'sharded',
    title: 'Sharded model (2 shards + index)',
    description: 'A checkpoint split into two safetensors shards with model.safetensors.index.json, as transformers writes it.',
    folder: 'sharded',
    files: ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
  },
  {
    id: 'overlap',
    title: 'Malformed: overlapping tensors',
    description: 'Two tensors share bytes and the header hides a trailing payload. Expect: errors.',
    folder: 'malformed',
    files: ['overlap.safetensors'],
  },
];
