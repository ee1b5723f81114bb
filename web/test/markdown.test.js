import { describe, expect, test } from 'vitest';
import { parseBlocks, parseInline, safeHref } from '../src/markdown.js';

describe('markdown', () => {
  test('raw HTML in model output stays text', () => {
    const src = 'Hi <script>alert(1)</script> and <img src=x onerror=alert(2)>';
    expect(parseBlocks(src)).toEqual([{ type: 'para', text: src }]);
    expect(parseInline(src)).toEqual([{ type: 'text', text: src }]);
  });

  test('fenced code keeps its text verbatim, even unclosed mid-stream', () => {
    expect(parseBlocks('a\n```js\nconst x = "<b>";\n```\nb')).toEqual([
      { type: 'para', text: 'a' },
      { type: 'code', lang: 'js', text: 'const x = "<b>";' },
      { type: 'para', text: 'b' },
    ]);
    expect(parseBlocks('```\nstill streaming')).toEqual([{ type: 'code', lang: '', text: 'still streaming' }]);
  });

  test('headings, lists and quotes', () => {
    expect(parseBlocks('# T\n- a\n- b\n1. c\n> q')).toEqual([
      { type: 'heading', level: 1, text: 'T' },
      { type: 'list', ordered: false, items: ['a', 'b'] },
      { type: 'list', ordered: true, items: ['c'] },
      { type: 'quote', text: 'q' },
    ]);
  });

  test('inline code, emphasis and only http(s) links', () => {
    expect(parseInline('use `x<y` **now** *ok* [doc](https://e.com/a)')).toEqual([
      { type: 'text', text: 'use ' }, { type: 'code', text: 'x<y' }, { type: 'text', text: ' ' },
      { type: 'strong', text: 'now' }, { type: 'text', text: ' ' }, { type: 'em', text: 'ok' },
      { type: 'text', text: ' ' }, { type: 'link', text: 'doc', href: 'https://e.com/a' },
    ]);
    expect(parseInline('[x](javascript:alert(1))')[0].type).toBe('text');
    expect(safeHref('data:text/html,<b>')).toBe(false);
    expect(safeHref('//evil.example')).toBe(false);
    expect(safeHref('http://ok.example')).toBe(true);
  });
});
