import { describe, expect, it } from 'vitest';
import { classifyImport, publicTwin } from './policy';

/** Policy gaps found by tests/fixtures/hostile/make_gen_pickle.py (manifest-gen-pickle.json). */
describe('classifyImport: private twins, broad families and file-touching names', () => {
  it.each([
    // stdlib modules import os/sys under private aliases; attribute paths through them reach the module
    ['random', '_os.system', 'os'],
    ['collections', '_sys.modules', 'sys'],
    ['setuptools', '_distutils.spawn.spawn', 'distutils'],
    // C accelerator twins are the same capability as the public module
    ['_socket', 'socket', 'socket'],
    ['_functools', 'partial', 'functools.partial'],
    ['_pyio', 'open', 'io.open'],
    ['_frozen_importlib_external', 'SourceFileLoader', 'importlib'],
    // broad families (checked after the narrower rules)
    ['setuptools.sandbox', 'run_setup', 'setuptools'],
    ['pathlib', 'Path.unlink', 'pathlib'],
    ['gzip', 'open', 'gzip'],
    ['numpy.lib.format', 'read_array', 'numpy.lib.format'],
    ['numpy.ctypeslib', 'load_library', 'numpy.ctypeslib'],
    ['torch.fx.graph_module', 'reduce_graph_module', 'torch.fx.graph_module'],
    ['torch.package', 'PackageImporter', 'torch.package'],
    ['torch.serialization', '_legacy_load', 'torch.serialization'],
    ['uuid', '_find_mac_near_keyword', 'uuid'],
    ['antigravity', 'geohash', 'antigravity'],
    // names
    ['torch', 'UntypedStorage.from_file', 'torch.from_file'],
    ['torch._ops', 'ops.load_library', 'torch.load_library'],
    ['torch', 'save', 'torch.save'],
    ['numpy.core.multiarray', '_reconstruct.tofile', 'numpy.tofile'],
    ['numpy', 'save', 'numpy.save'],
    ['numpy', 'DataSource.open', 'numpy.open'],
  ])('%s + %s → dangerous (%s)', (module, name, rule) => {
    const v = classifyImport(module, name);
    expect(v.tier).toBe('dangerous');
    expect(v.rule).toBe(rule);
  });

  it.each([
    ['pathlib', 'PosixPath'],
    ['pathlib', 'WindowsPath'],
    ['pathlib', 'PurePath'],
    ['pathlib._local', 'PosixPath'], // where Python 3.13 pickles name the class
    ['pathlib._local', 'PureWindowsPath'],
    ['uuid', 'UUID'],
    ['uuid', 'SafeUUID'],
    ['torch.serialization', '_get_layout'],
    ['_codecs', 'encode'],
    ['torch', 'UntypedStorage'],
    ['torch._utils', '_rebuild_tensor_v2'],
  ])('%s + %s stays known-safe', (module, name) => {
    expect(classifyImport(module, name).tier).toBe('safe');
  });

  it.each([
    ['torch.nn.modules.linear', 'Linear'],
    ['torch._tensor', 'Tensor.something'],
    ['_collections', 'deque'],
    ['mylib._private', 'Thing'],
  ])('%s + %s stays unknown (no false twin match)', (module, name) => {
    expect(classifyImport(module, name).tier).toBe('unknown');
  });

  it('keeps the narrower rule when both a name and a broad family match', () => {
    expect(classifyImport('pathlib', 'os.system').rule).toBe('os');
    expect(classifyImport('torch.serialization', 'load').rule).toBe('torch.load');
    expect(classifyImport('numpy.lib.npyio', 'load').rule).toBe('numpy.load');
  });

  it('publicTwin strips one private prefix, never dunders', () => {
    expect(publicTwin('_os')).toBe('os');
    expect(publicTwin('_sys.modules')).toBe('sys.modules');
    expect(publicTwin('_pickle')).toBe('pickle');
    expect(publicTwin('__main__')).toBeNull();
    expect(publicTwin('__torch__.x')).toBeNull();
    expect(publicTwin('os')).toBeNull();
  });
});
