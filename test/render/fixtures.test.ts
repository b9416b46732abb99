/** The hand-written digest fixtures match the model's Digest shape (what the renderers rely on). */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STANCES, type Digest } from '../../src/model.js';

const dir = fileURLToPath(new URL('../fixtures/digests/', import.meta.url));
const STATUSES = ['verified', 'corroborated', 'single-source', 'paraphrase'];

describe.each(['realistic', 'huge', 'hostile'])('fixture %s.json', (name) => {
  const d = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as Digest;
  it('has the Digest shape the renderers rely on', () => {
    expect(d.schema).toBe(1);
    for (const k of ['id', 'number', 'date', 'slot', 'publishedAt', 'title', 'subject', 'preheader', 'intro', 'sections', 'sources', 'speakers', 'stats'] as const) expect(d[k], k).toBeDefined();
    expect(d.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(d.id.startsWith(d.date)).toBe(true);
    const quotes = d.sections.flatMap((s) => s.quotes);
    expect(d.stats.quotes).toBe(quotes.length);
    expect(d.stats.counterpoints).toBe(quotes.reduce((n, q) => n + q.counterpoints.length, 0));
    for (const q of quotes) {
      expect(typeof q.id).toBe('string');
      expect(typeof q.text).toBe('string');
      expect(typeof q.score).toBe('number');
      expect(STATUSES).toContain(q.status);
      expect(STANCES).toContain(q.stance);
      expect(q.end - q.start).toBe(q.text.length);
      expect(q.speaker === null).toBe(q.speakerName === null);
      for (const c of q.counterpoints) expect(c.quoteId).toBe(q.id);
    }
  });
  if (name === 'realistic') {
    it('is realistic: 5+ themes, counterpoints, unattributed quotes', () => {
      const quotes = d.sections.flatMap((s) => s.quotes);
      expect(d.sections.length).toBeGreaterThanOrEqual(5);
      expect(quotes.some((q) => q.counterpoints.length > 0)).toBe(true);
      expect(quotes.some((q) => q.speaker === null)).toBe(true);
    });
  }
  if (name === 'huge') it('has 200 quotes', () => expect(d.sections.flatMap((s) => s.quotes)).toHaveLength(200));
});
