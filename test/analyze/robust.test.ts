import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/index.js';
import { cfg, makeItem, speakers, themes } from './fixtures.js';

/** Deterministic pseudo-random text made of the characters that trip quote parsers. */
function noisyText(seed: number, length: number): string {
  const pieces = ['“', '”', '"', '‘', '’', "'", '\n', '\n\n', ' ', 'Sutskever said ', 'Q: ', '> ', '— Gary Marcus\n', 'scaling ', 'is over. ', 'not ', 'he says, ', 'Ilya: ', '[00:01:02] ', '…', 'x', '—'];
  let s = seed;
  let out = '';
  while (out.length < length) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out += pieces[s % pieces.length];
  }
  return out;
}

describe('analyze never throws and never shows a non-verbatim quote', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7])('noisy input #%i', (seed) => {
    const items = [makeItem(noisyText(seed, 3000), { sourceId: 'a' }), makeItem(noisyText(seed + 100, 2000), { sourceId: 'b', primary: true })];
    const r = analyze(items, { themes, speakers, analyze: cfg });
    for (const q of r.quotes) {
      const item = items.find((i) => i.id === q.itemId)!;
      expect(item.text.slice(q.start, q.end)).toBe(q.text);
      expect(q.text.trim()).toBe(q.text);
      for (const c of q.citations) expect(c.start).toBeLessThan(c.end);
    }
    for (const c of r.counterpoints) expect(items.find((i) => i.id === c.itemId)!.text.slice(c.start, c.end)).toBe(c.text);
  });

  it.each([
    ['empty', ''],
    ['only marks', '“”“”""‘’'],
    ['no quotes at all', 'Plain text about scaling and research with no quotation marks.'],
  ])('%s', (_n, text) => {
    expect(() => analyze([makeItem(text)], { themes, speakers, analyze: cfg })).not.toThrow();
  });

  it('works with no themes and no speakers configured', () => {
    const r = analyze([makeItem('He said “we are back in the age of research again, with big computers.”')], { themes: [], speakers: [], analyze: cfg });
    expect(r.quotes[0]!.themes).toEqual([]);
    expect(r.quotes[0]!.speaker).toBeNull();
  });
});

describe('regression: two items sharing an id (same canonical URL) each keep their quotes', () => {
  it('quotes from both are reported with citations into their own text', () => {
    const a = makeItem('Sutskever said: “We are squarely an age of research company, and that is the plan.”', { id: 'same', sourceId: 'a', origin: 'a.md' });
    const b = makeItem('LeCun said: “Large language models are a dead end on the road to human-level AI.”', { id: 'same', sourceId: 'b', origin: 'b.md' });
    const r = analyze([a, b], { themes, speakers, analyze: cfg });
    expect(r.quotes.map((q) => q.source).sort()).toEqual(['a.md', 'b.md']);
    for (const q of r.quotes) {
      expect(q.itemId).toBe('same');
      expect(q.citations).toHaveLength(1);
      expect([a, b].find((i) => i.origin === q.source)!.text.slice(q.start, q.end)).toBe(q.text);
    }
  });
});
