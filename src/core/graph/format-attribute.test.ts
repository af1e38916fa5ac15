import { describe, expect, it } from 'vitest';
import { formatAttribute } from './format-attribute';

describe('formatAttribute', () => {
  it('formats each kind', () => {
    expect(formatAttribute({ kind: 'float', value: 9.999999747378752e-6 })).toBe('0.00001');
    expect(formatAttribute({ kind: 'float', value: 0.5 })).toBe('0.5');
    expect(formatAttribute({ kind: 'int', value: 3 })).toBe('3');
    expect(formatAttribute({ kind: 'int', value: '9223372036854775807' })).toBe('9223372036854775807');
    expect(formatAttribute({ kind: 'string', value: 'NOTSET\n' })).toBe('"NOTSET\\n"');
    expect(formatAttribute({ kind: 'ints', value: [1, 2, -1] })).toBe('[1, 2, -1]');
    expect(formatAttribute({ kind: 'floats', value: [0.1, 1] })).toBe('[0.1, 1]');
    expect(formatAttribute({ kind: 'strings', value: ['a', 'b'] })).toBe('["a", "b"]');
    expect(formatAttribute({ kind: 'tensor', value: 'const_w' })).toBe('tensor const_w');
    expect(formatAttribute({ kind: 'graph', value: 1 })).toBe('subgraph 1');
    expect(formatAttribute({ kind: 'other', value: 'type_proto' })).toBe('type_proto');
  });
  it('summarises long lists and strings', () => {
    const ints = Array.from({ length: 1000 }, (_, i) => i);
    const s = formatAttribute({ kind: 'ints', value: ints });
    expect(s.startsWith('[0, 1, 2,')).toBe(true);
    expect(s.endsWith(', 31, … 968 more]')).toBe(true);
    expect(formatAttribute({ kind: 'string', value: 'x'.repeat(500) })).toBe(`"${'x'.repeat(200)}…"`);
  });
});
