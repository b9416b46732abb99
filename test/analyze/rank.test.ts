import { describe, expect, it } from 'vitest';
import { selectQuotes } from '../../src/analyze/index.js';
import type { Analysis, Quote, Stance } from '../../src/model.js';
import { cfg } from './fixtures.js';

let n = 0;
const quote = (theme: string, stance: Stance, score: number, kind: Quote['kind'] = 'direct'): Quote => ({
  id: `q${n++}`, text: 'x', speaker: null, attribution: { method: 'none', confidence: 0 }, source: 's', itemId: 'i', url: null,
  start: 0, end: 1, kind, themes: [theme], stance, status: 'single-source', citations: [], score,
});

describe('selectQuotes', () => {
  it('caps per theme and in all, takes themes in turn, never picks fragments', () => {
    const quotes = [
      ...Array.from({ length: 10 }, (_, i) => quote('scaling-era', 'research', 5 - i * 0.1)),
      quote('evals-rl', 'research', 1),
      quote('timelines', 'neutral', 0.5),
      quote('timelines', 'neutral', 9, 'fragment'),
    ];
    const a: Analysis = { quotes, counterpoints: [], tokens: 0 };
    const got = selectQuotes(a, { ...cfg, maxQuotes: 5, maxQuotesPerTheme: 3 });
    expect(got).toHaveLength(5);
    expect(got.filter((q) => q.themes[0] === 'scaling-era')).toHaveLength(3);
    expect(got.some((q) => q.themes[0] === 'evals-rl')).toBe(true);
    expect(got.some((q) => q.themes[0] === 'timelines')).toBe(true);
    expect(got.every((q) => q.kind !== 'fragment')).toBe(true);
  });

  it('gives each side its best quote within a theme before any side gets a second', () => {
    const quotes = [quote('scaling-era', 'research', 5), quote('scaling-era', 'research', 4), quote('scaling-era', 'scaling', 1)];
    const got = selectQuotes({ quotes, counterpoints: [], tokens: 0 }, { ...cfg, maxQuotes: 2, maxQuotesPerTheme: 2 });
    expect(got.map((q) => q.stance).sort()).toEqual(['research', 'scaling']);
  });
});
