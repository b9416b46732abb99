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
export function containment<T>(a: ArrayLike<T> & Iterable<T>, b: Set<T>): number {
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

/**
 * Pairs of candidates worth comparing, each as the number i·n + j with i < j (n candidates), ascending. Only quotes that share a
 * 4-gram can be the same words or the same passage, so this is an inverted index of grams with prefix
 * filtering (an exact similarity join): a quote with n grams that another holds at ≥ SAME_WORDS (or shares
 * ≥ SAME_PASSAGE of, and at least 2) misses at most `allowed` of its grams there, so the other must hold one
 * of its `allowed + 1` rarest grams. Probing only those keeps common grams ("one of the most") from making
 * every quote a neighbour of every other, without dropping any pair the comparison below would act on.
 */
function candidatePairs(cands: DedupeCandidate[], lengths: Int32Array, ids: (Int32Array | null)[], gramCount: number): Float64Array {
  // Document frequencies and postings by gram id: this runs over every quote of the week.
  // Postings in one flat array (quotes holding gram x: post[postStart[x] .. postStart[x + 1]), in quote
  // order), counted first and then filled: an array per gram was millions of small arrays.
  const df = new Int32Array(gramCount);
  const seenIn = new Int32Array(gramCount).fill(-1);
  ids.forEach((grs, i) => {
    if (!grs) return;
    for (const id of grs) {
      if (seenIn[id] === i) continue;
      seenIn[id] = i;
      df[id]!++;
    }
  });
  const postStart = new Int32Array(gramCount + 1);
  for (let x = 0; x < gramCount; x++) postStart[x + 1] = postStart[x]! + df[x]!;
  const post = new Int32Array(postStart[gramCount]!);
  const fill = postStart.slice(0, gramCount);
  seenIn.fill(-1);
  ids.forEach((grs, i) => {
    if (!grs) return;
    for (const id of grs) {
      if (seenIn[id] === i) continue;
      seenIn[id] = i;
      post[fill[id]!++] = i;
    }
  });
  // Pairs as numbers i·n + j in a growing Float64Array, sorted and made unique at the end (a Set and a
  // two-element array per pair before): that order is ascending i, then j.
  const n = cands.length;
  let keys = new Float64Array(1024);
  let size = 0;
  const seenFor = new Int32Array(n).fill(-1);
  const add = (a: number, b: number) => {
    if (size === keys.length) {
      const grown = new Float64Array(keys.length * 2);
      grown.set(keys);
      keys = grown;
    }
    keys[size++] = a < b ? a * n + b : b * n + a;
  };
  ids.forEach((grs, s) => {
    if (!grs || grs.length === 0) return;
    const len = grs.length;
    // The most grams a partner may lack and still count (same words, or the same passage).
    const allowed = Math.max(len - Math.ceil(SAME_WORDS * len), len - Math.max(2, Math.ceil(SAME_PASSAGE * len)));
    // Rarest first (ties by id, so the choice is deterministic); +1 against rounding at the bounds.
    const prefix = Array.from(grs).sort((a, b) => df[a]! - df[b]! || a - b).slice(0, allowed + 2);
    for (const x of new Set(prefix)) {
      for (let k = postStart[x]!, end = postStart[x + 1]!; k < end; k++) {
        const l = post[k]!;
        // The pair is judged from the shorter quote's side; the longer one finds it when it is the shorter.
        if (l === s || seenFor[l] === s || lengths[l]! < lengths[s]! || cands[l]!.itemId === cands[s]!.itemId) continue;
        seenFor[l] = s;
        add(s, l);
      }
    }
  });
  const sorted = keys.subarray(0, size).sort();
  let unique = 0;
  for (let k = 0; k < size; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[unique++] = sorted[k]!;
  return sorted.subarray(0, unique);
}

/** For each candidate, the candidates of its item that lie inside it (only those that have any). */
function nestedQuotes(cands: DedupeCandidate[]): Map<number, number[]> {
  const byItem = new Map<string, number[]>();
  cands.forEach((c, i) => {
    const list = byItem.get(c.itemId);
    if (list) list.push(i);
    else byItem.set(c.itemId, [i]);
  });
  const out = new Map<number, number[]>();
  for (const list of byItem.values()) {
    if (list.length < 2) continue;
    // By start, longer first: a quote's nested ones follow it until one starts past its end.
    list.sort((x, y) => cands[x]!.start - cands[y]!.start || cands[y]!.end - cands[x]!.end);
    list.forEach((o, k) => {
      const outer = cands[o]!;
      for (let m = k + 1; m < list.length && cands[list[m]!]!.start < outer.end; m++) {
        const inner = cands[list[m]!]!;
        if (inner.end > outer.end || (inner.start === outer.start && inner.end === outer.end)) continue;
        const kids = out.get(o);
        if (kids) kids.push(list[m]!);
        else out.set(o, [list[m]!]);
      }
    });
  }
  return out;
}

/**
 * Words and 4-grams as integer ids rather than strings and Sets of strings: every quote of the week is held
 * at once here, and a few million gram strings were most of the stage's memory. Ids are given in order of
 * first appearance, so the order ties break in is the same as with strings.
 */
class GramIds {
  readonly vocab = new Map<string, number>();
  readonly words: string[] = [];
  private readonly pairIds = new Map<number, number>();
  private readonly gramIds = new Map<number, number>();
  count = 0;
  wordIds(tokens: Token[]): Int32Array {
    const out = new Int32Array(tokens.length);
    tokens.forEach((t, k) => {
      let id = this.vocab.get(t.norm);
      if (id === undefined) {
        this.vocab.set(t.norm, (id = this.words.length));
        this.words.push(t.norm);
      }
      out[k] = id;
    });
    return out;
  }
  private pair(a: number, b: number): number {
    // Word ids stay far below 2^26, so a·2^26 + b is exact in a double and unique per pair.
    const key = a * 67108864 + b;
    let id = this.pairIds.get(key);
    if (id === undefined) this.pairIds.set(key, (id = this.pairIds.size));
    return id;
  }
  /** The NGRAM-grams of a word-id sequence of at least NGRAM words, as gram ids in order. */
  grams(w: Int32Array): Int32Array {
    const out = new Int32Array(Math.max(0, w.length - NGRAM + 1));
    for (let i = 0; i + NGRAM <= w.length; i++) {
      const key = this.pair(w[i]!, w[i + 1]!) * 67108864 + this.pair(w[i + 2]!, w[i + 3]!);
      let id = this.gramIds.get(key);
      if (id === undefined) this.gramIds.set(key, (id = this.count++));
      out[i] = id;
    }
    return out;
  }
}

export function groupQuotes(cands: DedupeCandidate[], primaries: PrimaryText[]): Group[] {
  const gi = new GramIds();
  const words = cands.map((c) => gi.wordIds(tokenize(c.text)));
  const lengths = Int32Array.from(words, (w) => w.length);
  // Grams only for quotes of at least NGRAM words: shorter ones are compared by their exact wording alone.
  const g: (Int32Array | null)[] = words.map((w) => (w.length >= NGRAM ? gi.grams(w) : null));
  const quoteGrams = gi.count;
  // Membership of a gram in the longer quote of a pair, marked per pair in one flat array (no Set per quote).
  const mark = new Int32Array(quoteGrams).fill(-1);
  let markFor = -1;
  const sharedWith = (s: number, l: number): number => {
    if (markFor !== l) {
      for (const x of g[l]!) mark[x] = l;
      markFor = l;
    }
    let k = 0;
    for (const x of g[s]!) if (mark[x] === l) k++;
    return k;
  };
  const parent = cands.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r]!;
    while (parent[i] !== r) {
      const next = parent[i]!;
      parent[i] = r;
      i = next;
    }
    return r;
  };
  const paraphrased = new Set<number>();
  const corroboratedShort = new Set<number>();

  // Identical wording, found by hashing rather than by comparing every pair: the same words quoted twice in
  // one piece are one quote with two citations; short phrases ("age of research") corroborate across sources
  // only when quoted identically, and never merge.
  const sameWords = new Map<string, number[]>();
  words.forEach((w, i) => {
    if (w.length === 0) return;
    // The word ids joined: equal exactly when the normalized words are (a word holds no comma or space).
    const key = w.join(',');
    const list = sameWords.get(key);
    if (list) list.push(i);
    else sameWords.set(key, [i]);
  });
  for (const list of sameWords.values()) {
    if (list.length < 2) continue;
    if (words[list[0]!]!.length >= NGRAM) {
      const firstOf = new Map<string, number>();
      for (const i of list) {
        const k = `${cands[i]!.fragment ? 1 : 0}\u0000${cands[i]!.itemId}`;
        const f = firstOf.get(k);
        if (f === undefined) firstOf.set(k, i);
        else parent[find(f)] = find(i);
      }
    } else {
      const sources = new Set(list.map((i) => cands[i]!.sourceId));
      if (sources.size > 1) for (const i of list) corroboratedShort.add(i);
    }
  }

  // Quotes nested in a longer one of the same item (a quote inside someone's turn). When the longer one holds
  // another source's words only through such a quote ("Sutskever said, “From what I hear…”" in a host's
  // turn), the match is the nested quote's, not the turn's: the host did not say those words.
  const nested = nestedQuotes(cands);
  const n = cands.length;
  for (const key of candidatePairs(cands, lengths, g, quoteGrams)) {
    const i = Math.floor(key / n);
    const j = key - i * n;
    const a = cands[i]!;
    const b = cands[j]!;
    const [s, l] = lengths[i]! <= lengths[j]! ? [i, j] : [j, i];
    const shared = sharedWith(s, l);
    const c = shared / g[s]!.length;
    if (c >= SAME_WORDS) {
      if (nested.get(l)?.some((k) => g[k] !== null && sharedWith(s, k) / g[s]!.length >= SAME_WORDS)) continue;
      if (a.fragment === b.fragment) parent[find(i)] = find(j);
      else if (a.sourceId !== b.sourceId) corroboratedShort.add(s); // the part is corroborated, not the whole
    } else if (a.sourceId !== b.sourceId) {
      if (shared >= 2 && shared / g[s]!.length >= SAME_PASSAGE) {
        paraphrased.add(i);
        paraphrased.add(j);
      }
    }
  }

  const groups = new Map<number, number[]>();
  for (let i = 0; i < cands.length; i++) {
    const r = find(i);
    const list = groups.get(r);
    if (list) list.push(i);
    else groups.set(r, [i]);
  }

  const primaryTokens = primaries.map((p) => ({ ...p, tokens: tokenize(p.text) }));
  // A primary shorter than NGRAM words has no gram a quote of NGRAM words or more could share.
  const primarySets = primaryTokens.map((p) => {
    const w = gi.wordIds(p.tokens);
    return new Set(w.length >= NGRAM ? gi.grams(w) : []);
  });
  // Which primaries hold a gram: a quote held at ≥ SAME_WORDS by a primary shares one of any
  // (missing allowed + 1) of its grams with it, so only those primaries are compared.
  const primaryPostings = new Map<number, number[]>();
  primarySets.forEach((set, k) => {
    for (const x of set) {
      const list = primaryPostings.get(x);
      if (list) list.push(k);
      else primaryPostings.set(x, [k]);
    }
  });
  const primariesHolding = (grs: Int32Array): number[] => {
    const allowed = grs.length - Math.ceil(SAME_WORDS * grs.length) + 1;
    const found = new Set<number>();
    for (const x of grs.slice(0, allowed + 1)) for (const k of primaryPostings.get(x) ?? []) found.add(k);
    return [...found].sort((a, b) => a - b);
  };
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
    const mainGrams = g[main];
    if (mainGrams) {
      for (const k of primariesHolding(mainGrams)) {
        const p = primaryTokens[k]!;
        if (members.some((m) => cands[m]!.itemId === p.itemId)) continue;
        if (containment(mainGrams, primarySets[k]!) < SAME_WORDS) continue;
        const span = locateWords(Array.from(words[main]!, (id) => gi.words[id]!), p.text, p.tokens);
        if (span) {
          primaryCitations.push({ itemId: p.itemId, ...span });
          verified = true;
        }
      }
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
