import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanChatTemplate } from './scan-template';
import { tokenizeJinja } from './tokenize-jinja';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'templates');
const read = (kind: string, f: string) => readFileSync(join(dir, kind, f), 'utf8');
const where = { file: 'tokenizer_config.json', key: 'chat_template', offset: 100 };

describe('tokenizeJinja', () => {
  it('splits data, tags, names, strings with escapes, numbers and operators', () => {
    const { tokens, errors } = tokenizeJinja("a{{- x.y['k\\x5f'] | trim -}}{# c #}{% if n > 10 %}b{% endif %}");
    expect(errors).toEqual([]);
    expect(tokens.map((t) => [t.type, t.value])).toEqual([
      ['data', 'a'], ['variable-begin', '{{'], ['name', 'x'], ['operator', '.'], ['name', 'y'], ['operator', '['], ['string', 'k_'], ['operator', ']'],
      ['operator', '|'], ['name', 'trim'], ['variable-end', '}}'],
      ['block-begin', '{%'], ['name', 'if'], ['name', 'n'], ['operator', '>'], ['number', '10'], ['block-end', '%}'],
      ['data', 'b'], ['block-begin', '{%'], ['name', 'endif'], ['block-end', '%}'],
    ]);
    expect(tokens[6].pos).toBe(9);
  });
  it('keeps {% raw %} bodies as data and reports unterminated tags', () => {
    expect(tokenizeJinja('{% raw %}{{ __class__ }}{% endraw %}').tokens).toEqual([{ type: 'data', value: '{{ __class__ }}', raw: '{{ __class__ }}', pos: 9 }]);
    expect(tokenizeJinja('{{ x ').errors[0]).toMatchObject({ pos: 0, message: 'unterminated {{ }} tag' });
    expect(tokenizeJinja("{{ 'abc }}").errors[0].message).toBe('unterminated string literal');
  });
});

describe('scanChatTemplate', () => {
  for (const f of readdirSync(join(dir, 'honest'))) {
    it(`honest ${f} is clean`, () => {
      expect(scanChatTemplate(read('honest', f), where)).toEqual([]);
    });
  }
  const expectations: Record<string, string[]> = {
    'cve-2024-34359-subclasses.jinja': ['template/dunder'],
    'cycler-globals.jinja': ['template/dunder', 'template/global-escape', 'template/python-attribute'],
    'lipsum-item.jinja': ['template/dunder', 'template/global-escape'],
    'joiner-builtins.jinja': ['template/dunder', 'template/global-escape'],
    'attr-hex.jinja': ['template/attr-filter', 'template/dunder'],
    'format-subscript.jinja': ['template/built-name', 'template/computed-subscript'],
    'underscore-building.jinja': ['template/built-name', 'template/computed-subscript', 'template/global-escape'],
    'dict-join.jinja': ['template/dunder', 'template/attr-filter'],
    'self-context.jinja': ['template/private-attribute', 'template/global-escape'],
    'mro-subclasses.jinja': ['template/python-attribute', 'template/dunder'],
    'escaped-item.jinja': ['template/dunder'],
    'map-attr.jinja': ['template/attr-filter', 'template/dunder'],
    'percent-name.jinja': ['template/built-name'],
  };
  for (const f of readdirSync(join(dir, 'hostile'))) {
    it(`hostile ${f} is dangerous template-injection`, () => {
      const found = scanChatTemplate(read('hostile', f), where);
      expect(found.length).toBeGreaterThan(0);
      for (const x of found) expect([x.category, x.severity]).toEqual(['template-injection', 'dangerous']);
      expect(expectations[f], `no expectation for ${f}`).toBeDefined();
      for (const id of expectations[f]) expect(found.map((x) => x.id)).toContain(id);
    });
  }
  it('points at the byte offset of the construct', () => {
    const t = '{{ x }}{{ cycler.__init__ }}';
    const [g] = scanChatTemplate(t, where).filter((x) => x.id === 'template/global-escape');
    expect(g.offset).toBe(100 + t.indexOf('cycler'));
    const u = 'é{{ cycler.x }}';
    expect(scanChatTemplate(u, where)[0].offset).toBe(100 + 2 + 3);
  });
  it('does not flag namespace() and range() calls or strftime formats', () => {
    expect(scanChatTemplate("{% set ns = namespace(found=false) %}{% for i in range(3) %}{{ i }}{% endfor %}{{ strftime_now('%d %b %Y') }}", where)).toEqual([]);
  });
});

describe('scanChatTemplate: globals passed around and loader tags', () => {
  const rules = (t: string) => scanChatTemplate(t, where).map((f) => `${f.severity} ${f.category} ${f.id}`);
  it('flags a Jinja global used as a value (aliased, filtered, looped over)', () => {
    const alias = "{% set l = lipsum %}{% set u = dict(_=1)|list|first %}{% set g = [u, u, 'glob', 'als', u, u]|join %}{{ l[g]['o' ~ 's'] }}";
    expect(rules(alias)).toContain('dangerous template-injection template/global-escape');
    expect(rules('{% for x in [cycler] %}{{ x }}{% endfor %}')).toEqual(['dangerous template-injection template/global-escape']);
    expect(rules('{{ joiner|string }}')).toEqual(['dangerous template-injection template/global-escape']);
  });
  it('leaves calls and bound names alone', () => {
    expect(rules("{% set ns = namespace(found=false) %}{% for i in range(3) %}{% set c = cycler('a', 'b') %}{{ c.next() }}{% endfor %}{{ ns.found }}")).toEqual([]);
  });
  it('flags include, import, from and extends', () => {
    for (const tag of ["{% include '/etc/passwd' %}", "{% import 'x.j2' as x %}", "{% from 'x.j2' import y %}", "{% extends 'base.j2' %}"])
      expect(rules(tag), tag).toEqual(['dangerous template-injection template/include']);
    expect(rules('{% if "include" in message.content %}x{% endif %}')).toEqual([]);
  });
});
