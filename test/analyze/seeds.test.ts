import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, analysisToJson, selectQuotes } from '../../src/analyze/index.js';
import { evaluateSet } from '../../scripts/eval.js';
import { cfg, seedItems, speakers, themes } from './fixtures.js';

const items = seedItems();
const analysis = analyze(items, { themes, speakers, analyze: cfg });

describe('the real seeds', () => {
  it('every quote and every citation is a verbatim slice of its item', () => {
    const byId = new Map(items.map((i) => [i.id, i]));
    expect(analysis.quotes.length).toBeGreaterThan(50);
    for (const q of analysis.quotes) {
      expect(byId.get(q.itemId)!.text.slice(q.start, q.end)).toBe(q.text);
      for (const c of q.citations) expect(c.end).toBeLessThanOrEqual(byId.get(c.itemId)!.text.length);
    }
    for (const c of analysis.counterpoints) expect(byId.get(c.itemId)!.text.slice(c.start, c.end)).toBe(c.text);
  });

  it('is deterministic: same input, same ids and order', () => {
    const again = analyze(seedItems(), { themes, speakers, analyze: cfg });
    expect(again.quotes.map((q) => q.id)).toEqual(analysis.quotes.map((q) => q.id));
  });

  it('selects within the caps', () => {
    const shown = selectQuotes(analysis, cfg);
    expect(shown.length).toBeLessThanOrEqual(cfg.maxQuotes);
    expect(shown.every((q) => q.kind !== 'fragment')).toBe(true);
  });

  it('the JSON contract has the documented fields', () => {
    const j = analysisToJson(analysis);
    expect(Object.keys(j.quotes[0]!).sort()).toEqual(
      ['attribution', 'citations', 'end', 'id', 'kind', 'source', 'speaker', 'stance', 'start', 'status', 'text', 'themes'].sort(),
    );
    if (j.counterpoints.length > 0)
      expect(Object.keys(j.counterpoints[0]!).sort()).toEqual(['confidence', 'end', 'quote', 'quoteId', 'reason', 'source', 'speaker', 'start', 'text'].sort());
  });

  it('the tuning gold scores above its floor (measured: see report; floors set below it)', async () => {
    const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/gold/seeds');
    expect(readdirSync(dir).filter((f) => f.endsWith('.gold.json'))).toHaveLength(5);
    JSON.parse(readFileSync(path.join(dir, '000_3bc1deb51479825c.gold.json'), 'utf8'));
    const s = (await evaluateSet(dir, speakers, themes, cfg, false))!;
    expect(s.spans.f1).toBeGreaterThanOrEqual(0.93);
    expect(s.spansWithSpeaker.f1).toBeGreaterThanOrEqual(0.8);
    expect(s.themeAccuracy).toBeGreaterThanOrEqual(0.75);
    expect(s.counterpointP1).toBeGreaterThanOrEqual(0.1);
    expect(s.verbatimShown).toBe(1);
  });

  // Measured: dev 100% / 98.8% / P@1 80.0%; dev2 100% / 100% / P@1 62.5%; dev3 99.3% / 96.5% / P@1 40.0%
  // (83.9% / 30.0% before any tuning on it); dev4 100% / 91.0% / P@1 50.0% (73.1% / 44.4% untuned). Floors set below.
  it.each([
    ['dev', 6, 0.92, 0.6],
    ['dev2', 5, 0.95, 0.45],
    ['dev3', 5, 0.93, 0.3],
    ['dev4', 5, 0.88, 0.3],
  ])('the %s gold scores above its floor too', async (name, documents, speakerF1, p1) => {
    const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), `../fixtures/gold/${name}`);
    const { loadSpeakers } = await import('../../scripts/eval.js');
    const s = (await evaluateSet(dir, [...speakers, ...loadSpeakers(path.join(dir, 'speakers.yaml'))], themes, cfg, false))!;
    expect(s.documents).toBe(documents);
    expect(s.spans.f1).toBeGreaterThanOrEqual(0.95);
    expect(s.spansWithSpeaker.f1).toBeGreaterThanOrEqual(speakerF1);
    expect(s.counterpointP1).toBeGreaterThanOrEqual(p1);
    expect(s.verbatimShown).toBe(1);
  });
});
