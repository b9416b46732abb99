import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanLine, composeDigest, issueSlot } from '../../src/compose/digest.js';
import { readConfig } from '../../src/config.js';
import type { Analysis, Quote, SourceItem } from '../../src/model.js';

// Words from the seeds (000 and 004), so no one is quoted saying what they did not say.
const text = 'He said: “So it’s back to the age of research again, just with big computers.” It’s not just that the models cheat — it’s that the whole research pipeline has become a kind of test-set optimization.';
const item: SourceItem = {
  id: 'item1', kind: 'file', sourceId: 'note.md', origin: 'sources/note.md', url: 'https://example.org/note', links: [],
  guid: null, title: 'A note', author: null, date: null, dateProblem: 'missing', speakers: [], stance: null, primary: false,
  text, html: null, contentHash: 'h',
};
const start = text.indexOf('So it’s');
const end = text.indexOf('computers') + 'computers'.length;
const quote = (id: string, themes: string[], score: number): Quote => ({
  id, text: text.slice(start, end), speaker: id === 'qa' ? 'ilya-sutskever' : null, attribution: { method: 'verb-pronoun', confidence: 0.7 },
  source: item.origin, itemId: item.id, url: item.url, start, end, kind: 'direct', themes, stance: 'research',
  status: 'single-source', citations: [{ itemId: item.id, source: item.origin, url: item.url, title: item.title, start, end }], score,
});

describe('compose', () => {
  it.each([
    ['2026-11-30T07:00:00Z', 'UTC', '2026-11-30', '2026-W49'],
    ['2027-01-01T02:00:00Z', 'UTC', '2027-01-01', '2026-W53'],
    ['2026-11-30T02:00:00Z', 'America/New_York', '2026-11-29', '2026-W48'],
  ])('dates %s in %s as %s, slot %s', (now, zone, date, slot) => {
    expect(issueSlot(new Date(now), zone)).toEqual({ date, slot });
  });

  it('removes CR/LF and control characters from header text', () => {
    expect(cleanLine('Issue\r\nBcc: victim@example.org\u0007 #1')).toBe('Issue Bcc: victim@example.org #1');
  });

  it('groups quotes by their first theme in themes.yaml order, attaches counterpoints, numbers and dates the issue', async () => {
    const config = await readConfig(path.resolve(__dirname, '../../sources'));
    const analysis: Analysis = {
      quotes: [quote('qa', ['generalization', 'scaling-era'], 2), quote('qb', ['generalization'], 1), quote('qc', [], 0.5)],
      counterpoints: [{
        quoteId: 'qa', counterQuoteId: null, text: text.slice(text.indexOf('It’s not')), speaker: 'deepseek', source: item.origin, itemId: item.id,
        url: item.url, start: text.indexOf('It’s not'), end: text.length, stance: 'paradigm', confidence: 0.8, reason: 'argues the opposite',
      }],
      tokens: 20,
    };
    const d = composeDigest({ analysis, selected: analysis.quotes, items: [item], config, number: 7, now: new Date('2026-11-30T07:00:00Z') });
    expect(d.id).toBe('2026-11-30-7');
    expect(d.subject).toBe('Debate Digest #7 (November 30, 2026): the end of the scaling era, generalization and sample efficiency');
    expect(d.sections.map((s) => s.themeId)).toEqual(['scaling-era', 'generalization', 'other']);
    expect(d.sections[0]?.quotes[0]?.counterpoints[0]?.speakerName).toBe('DeepSeek (AI model)');
    expect(text.slice(d.sections[0]?.quotes[0]?.counterpoints[0]?.start, d.sections[0]?.quotes[0]?.counterpoints[0]?.end)).toBe(d.sections[0]?.quotes[0]?.counterpoints[0]?.text);
    expect(d.sections[0]?.quotes[0]?.speakerName).toBe('Ilya Sutskever');
    expect(d.sources).toHaveLength(1);
    expect(d.stats).toMatchObject({ quotes: 3, themes: 3, counterpoints: 1 });
    for (const s of d.sections) for (const q of s.quotes) expect(text.slice(q.start, q.end)).toBe(q.text);
    expect(d.stats.items).toBe(1);
    // Items of earlier issues are looked up for citations but not counted as this issue's items.
    const older = { ...item, id: 'older', origin: 'older.md' };
    const again = composeDigest({ analysis, selected: analysis.quotes, items: [item], known: [older, older], config, number: 7, now: new Date('2026-11-30T07:00:00Z') });
    expect(again.stats.items).toBe(1);
    expect(again.sources).toEqual(d.sources);
  });
});
