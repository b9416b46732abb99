import type { VerbatimStatus } from '../model.js';
import { tokenize, type Token, type Span } from './paragraphs.js';

/**
 * The same quote in several sources, whole or in part. Sources trim quotes differently ("…the age of
 * research, just with big computers" vs the full paragraph), so two quotes are the same when the shorter's
 * word 4-grams are (almost all) contained in the longer's — containment, not Jaccard, which would call a
 * sentence and the paragraph holding it different. Partial overlap between two sources' quotes means they
 * quote the same passage in different words: a paraphrase.
 */

export const NGRAM = 4;
/** Share of the shorter quote's n-grams the longer must hold to count as the same words. */
export const SAME_WORDS = 0.9;
/** Share that marks the same passage quoted in other words. */
export const SAME_PASSAGE = 0.25;

export interface DedupeCandidate {
  itemId: string;
  sourceId: string;
  primary: boolean;
  /** Fragments (a term, a scare quote) never merge into a key quote: they only take its corroboration. */
  fragment: boolean;
  /** True for quotes of items from earlier issues: they corroborate, they are never reported. */
  known: boolean;
  start: number;
  end: number;
  text: string;
}

export interface PrimaryText {
  itemId: string;
  sourceId: string;
  text: string;
}

export interface Group {
  /** Indexes into the candidates, the main wording first. */
  members: number[];
  /** Passages of primary sources that hold the words without quoting them (a transcript). */
  primaryCitations: { itemId: string; start: number; end: number }[];
  status: VerbatimStatus;
}

export function grams(tokens: Token[] | string[]): string[] {
  const w = tokens.map((t) => (typeof t === 'string' ? t : t.norm));
  if (w.length === 0) return [];
  if (w.length < NGRAM) return [w.join(' ')];
  const out: string[] = [];
  for (let i = 0; i + NGRAM <= w.length; i++) out.push(w.slice(i, i + NGRAM).join(' '));
  return out;
}

/** Share of a's n-grams found in b. */
export function containment(a: string[], b: Set<string>): number {
  if (a.length === 0) return 0;
  let n = 0;
  for (const g of a) if (b.has(g)) n++;
  return n / a.length;
}

/** Where a quote's words stand in a longer text, as a span of that text (null when they are not there). */
export function locateWords(quoteWords: string[], text: string, tokens: Token[] = tokenize(text)): Span | null {
  if (quoteWords.length === 0) return null;
  let best: { from: number; to: number; matched: number } | null = null;
  for (let p = 0; p < tokens.length; p++) {
    if (tokens[p]!.norm !== quoteWords[0] && !(quoteWords.length > 1 && tokens[p]!.norm === quoteWords[1])) continue;
    const offset = tokens[p]!.norm === quoteWords[0] ? 0 : 1;
    let matched = 0;
    let last = p;
    for (let i = offset, t = p; i < quoteWords.length && t < tokens.length; i++, t++) {
      if (tokens[t]!.norm === quoteWords[i]) {
        matched++;
        last = t;
      }
    }
    if (!best || matched > best.matched) best = { from: p, to: last, matched };
  }
  if (!best || best.matched < Math.max(1, Math.ceil(quoteWords.length * SAME_WORDS))) return null;
  return { start: tokens[best.from]!.start, end: tokens[best.to]!.end };
}

export function groupQuotes(cands: DedupeCandidate[], primaries: PrimaryText[]): Group[] {
  const words = cands.map((c) => tokenize(c.text).map((t) => t.norm));
  const joined = words.map((w) => w.join(' '));
  const g = words.map((w) => grams(w));
  const sets = g.map((x) => new Set(x));
  const parent = cands.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const paraphrased = new Set<number>();
  const corroboratedShort = new Set<number>();

  for (let i = 0; i < cands.length; i++) {
    for (let j = i + 1; j < cands.length; j++) {
      const a = cands[i]!;
      const b = cands[j]!;
      const [s, l] = words[i]!.length <= words[j]!.length ? [i, j] : [j, i];
      const shortWords = words[s]!.length;
      if (shortWords === 0) continue;
      if (a.itemId === b.itemId) {
        // The same words quoted twice in one piece are one quote with two citations.
        if (shortWords >= NGRAM && a.fragment === b.fragment && joined[s] === joined[l]) parent[find(i)] = find(j);
        continue;
      }
      const c = containment(g[s]!, sets[l]!);
      if (shortWords >= NGRAM && c >= SAME_WORDS) {
        if (a.fragment === b.fragment) parent[find(i)] = find(j);
        else if (a.sourceId !== b.sourceId) corroboratedShort.add(s); // the part is corroborated, not the whole
      } else if (shortWords < NGRAM && joined[s] === joined[l]) {
        // Short phrases ("age of research") corroborate only when quoted identically; they never merge.
        if (a.sourceId !== b.sourceId) {
          corroboratedShort.add(i);
          corroboratedShort.add(j);
        }
      } else if (shortWords >= NGRAM && a.sourceId !== b.sourceId) {
        const shared = g[s]!.filter((x) => sets[l]!.has(x)).length;
        if (shared >= 2 && shared / g[s]!.length >= SAME_PASSAGE) {
          paraphrased.add(i);
          paraphrased.add(j);
        }
      }
    }
  }

  const groups = new Map<number, number[]>();
  for (let i = 0; i < cands.length; i++) {
    const r = find(i);
    groups.set(r, [...(groups.get(r) ?? []), i]);
  }

  const primaryTokens = primaries.map((p) => ({ ...p, tokens: tokenize(p.text) }));
  const primarySets = primaryTokens.map((p) => new Set(grams(p.tokens)));
  const out: Group[] = [];
  for (const members of groups.values()) {
    if (members.every((m) => cands[m]!.known)) continue;
    // Main wording: a quote from the reported items, from a primary source if any, else the longest.
    members.sort((x, y) => {
      const a = cands[x]!;
      const b = cands[y]!;
      if (a.known !== b.known) return a.known ? 1 : -1;
      if (a.primary !== b.primary) return a.primary ? -1 : 1;
      return b.text.length - a.text.length || a.start - b.start;
    });
    const main = members[0]!;
    const primaryCitations: Group['primaryCitations'] = [];
    let verified = members.some((m) => cands[m]!.primary);
    if (words[main]!.length >= NGRAM) {
      primaryTokens.forEach((p, k) => {
        if (members.some((m) => cands[m]!.itemId === p.itemId)) return;
        if (containment(g[main]!, primarySets[k]!) < SAME_WORDS) return;
        const span = locateWords(words[main]!, p.text, p.tokens);
        if (span) {
          primaryCitations.push({ itemId: p.itemId, ...span });
          verified = true;
        }
      });
    }
    const sources = new Set(members.map((m) => cands[m]!.sourceId));
    let status: VerbatimStatus = 'single-source';
    if (verified) status = 'verified';
    else if (sources.size > 1 || members.some((m) => corroboratedShort.has(m))) status = 'corroborated';
    else if (members.some((m) => paraphrased.has(m))) status = 'paraphrase';
    out.push({ members, primaryCitations, status });
  }
  return out;
}
