import { describe, expect, it } from 'vitest';
import { containment, grams, groupQuotes, locateWords, type DedupeCandidate } from '../../src/analyze/dedupe.js';
import { analyze } from '../../src/analyze/index.js';
import { tokenize } from '../../src/analyze/paragraphs.js';
import { cfg, makeItem, speakers, themes } from './fixtures.js';

const cand = (itemId: string, text: string, over: Partial<DedupeCandidate> = {}): DedupeCandidate => ({
  itemId, sourceId: itemId, primary: false, known: false, fragment: false, start: 0, end: text.length, text, ...over,
});
const words = (t: string) => tokenize(t).map((x) => x.norm);

describe('containment, not Jaccard', () => {
  it('a sentence is fully contained in the paragraph that holds it', () => {
    const para = 'From 2020 to 2025 it was the age of scaling. So it is back to the age of research again, just with big computers.';
    const sentence = 'So it is back to the age of research again, just with big computers.';
    expect(containment(grams(words(sentence)), new Set(grams(words(para))))).toBe(1);
  });

  it.each([
    ['same quote in a part of a longer one → one group, corroborated', ['the models generalize dramatically worse than people', 'Honestly the models generalize dramatically worse than people, and it is obvious.'], 1, 'corroborated'],
    ['different words for the same passage → paraphrase', ['back to the age of research again, just with big computers', 'the age of research, just with big computers'], 2, 'paraphrase'],
    ['unrelated quotes stay single-source', ['emotions are a value function of sorts', 'pre-training data is finite and running out'], 2, 'single-source'],
  ])('%s', (_n, [a, b], groups, status) => {
    const g = groupQuotes([cand('x', a!), cand('y', b!)], []);
    expect(g).toHaveLength(groups);
    expect(g.every((x) => x.status === status)).toBe(true);
  });

  it('keeps the longest wording as the main one, with every citation', () => {
    const g = groupQuotes([cand('x', 'models generalize dramatically worse than people'), cand('y', 'these models generalize dramatically worse than people do')], []);
    expect(g[0]!.members[0]).toBe(1);
    expect(g[0]!.members).toHaveLength(2);
  });

  it('verified when a primary source holds the words, with a citation into it', () => {
    const transcript = 'Dwarkesh: So?\nIlya: I think these models generalize dramatically worse than people. That is the crux.';
    const g = groupQuotes([cand('x', 'these models generalize dramatically worse than people')], [{ itemId: 't', sourceId: 't', text: transcript }]);
    expect(g[0]!.status).toBe('verified');
    const c = g[0]!.primaryCitations[0]!;
    expect(transcript.slice(c.start, c.end)).toBe('these models generalize dramatically worse than people');
  });

  it('locateWords finds the span even with different punctuation and quote marks', () => {
    const t = 'He said: “It’s back to the age of research — again.”';
    const s = locateWords(words("it's back to the age of research again"), t)!;
    expect(t.slice(s.start, s.end)).toBe('It’s back to the age of research — again');
  });
});

describe('analyze merges the same quote across sources', () => {
  it('one Quote, two citations, each verbatim in its own item (fragments under 8 words only take corroboration)', () => {
    const a = makeItem('Sutskever said: “The models generalize dramatically worse than people. It is super obvious.”', { sourceId: 'a' });
    const b = makeItem('In the interview he put it bluntly — Sutskever said “the models generalize dramatically worse than people. It is super obvious.”', { sourceId: 'b' });
    const r = analyze([a, b], { themes, speakers, analyze: cfg });
    const q = r.quotes.find((x) => x.text.startsWith('The models generalize'))!;
    expect(q.status).toBe('corroborated');
    expect(q.citations).toHaveLength(2);
    for (const c of q.citations) {
      const item = [a, b].find((i) => i.id === c.itemId)!;
      expect(item.text.slice(c.start, c.end).toLowerCase()).toContain('generalize dramatically worse');
    }
  });

  it('known items corroborate but are never reported', () => {
    const old = makeItem('Sutskever said: “we are squarely an age of research company, and proud of it.”', { sourceId: 'old' });
    const cur = makeItem('Sutskever said: “We are squarely an age of research company.”', { sourceId: 'new' });
    const r = analyze([cur], { themes, speakers, analyze: cfg, known: [old] });
    expect(r.quotes.every((q) => q.itemId === cur.id)).toBe(true);
    expect(r.quotes[0]!.status).toBe('corroborated');
  });
});

describe('a quote inside someone else’s turn', () => {
  it('another source’s quote groups with the nested quote, not with the turn that reads it out', () => {
    const words = 'From what I hear, all the companies have teams that just produce new RL environments and just add it to the training mix.';
    const turn = `Let me read the line everyone is quoting. Sutskever said, “${words}” Is that what your teams do?`;
    const inner = turn.indexOf(words);
    const g = groupQuotes(
      [
        cand('panel', turn, { primary: true }),
        cand('panel', words, { primary: true, start: inner, end: inner + words.length }),
        cand('news', words),
      ],
      [],
    );
    const withNews = g.find((x) => x.members.includes(2))!;
    expect(withNews.members.sort()).toEqual([1, 2]);
    expect(g.find((x) => x.members.includes(0))!.members).toEqual([0]);
  });
});
