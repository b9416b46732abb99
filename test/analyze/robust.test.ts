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
