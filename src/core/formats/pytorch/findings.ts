import type { Finding } from '../../report/finding';

/**
 * THREATS.md §1: a checkpoint whose pickles use only the globals and opcodes PyTorch's weights_only
 * loader accepts is a "plain state_dict", the strongest low-noise signal that loading runs no code.
 */
export function plainStateDictFinding(file: string, what: string): Finding {
  return {
    id: 'pickle/plain-state-dict',
    category: 'code-execution',
    severity: 'info',
    title: 'Plain state_dict: only weights_only globals and opcodes',
    detail: `Every pickle in this ${what} uses only the globals and opcodes that torch.load(weights_only=True) accepts (tensors, storages, dtypes, OrderedDict, plain values). Loading it with weights_only=True runs no code from the file.`,
    file,
  };
}
