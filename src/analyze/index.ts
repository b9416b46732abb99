import { createHash } from 'node:crypto';
import type { AnalyzeConfig, Analysis, Citation, Quote, SourceItem, SpeakerConfig, ThemeConfig } from '../model.js';
import { applyEditorPairs, BROKEN_OFF, pairCounterpoints, buildPassages, type CounterpointOptions, type PassageVoice } from './counterpoints.js';
import { groupQuotes, type DedupeCandidate } from './dedupe.js';
import { countWords, splitLines, tokenize } from './paragraphs.js';
import { findQuotes, type RawQuote } from './quotes.js';
import { scoreQuote } from './rank.js';
import { UNKNOWN_PERSON, attribute, buildSpeakerIndex, labelRoster, type Attribution, type Mention } from './speakers.js';
import { stanceOf } from './stance.js';
import { buildThemeMatcher, themesFor } from './themes.js';

export { selectQuotes } from './rank.js';

export interface AnalyzeOptions {
  themes: ThemeConfig[];
  speakers: SpeakerConfig[];
  analyze: AnalyzeConfig;
  /** Items from earlier issues: they corroborate and answer, but quotes are only reported from `items`. */
  known?: SourceItem[];
  /** Sees every candidate counterpoint pair and why it was kept or dropped (the eval's `--trace`). */
  traceCounterpoints?: CounterpointOptions['trace'];
}

interface Found {
  item: SourceItem;
  raw: RawQuote;
  attribution: Attribution;
  themes: string[];
  themeHits: number;
  known: boolean;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Items sorted by what they are (id, then origin, url and text), so input order never changes the output. */
function canonicalOrder(items: SourceItem[]): SourceItem[] {
  return [...items].sort((a, b) => cmp(a.id, b.id) || cmp(a.origin, b.origin) || cmp(a.url ?? '', b.url ?? '') || cmp(a.text, b.text));
}

/** Stable id from the quote's words, so anchors survive whitespace and punctuation edits. */
function quoteId(text: string): string {
  const words = tokenize(text).map((t) => t.norm).join(' ');
  return 'q-' + createHash('sha256').update(words).digest('hex').slice(0, 12);
}

/**
 * Quotes, speakers, themes, stance, corroboration and counterpoints for a batch of items. Pure: no I/O, no
 * clock. Every quote's text is the exact slice of its item's text; one that is not is dropped, never shown.
 */
export function analyze(items: SourceItem[], opts: AnalyzeOptions): Analysis {
  const currentIds = new Set(items.map((i) => i.id));
  const knownItems = (opts.known ?? []).filter((k) => !currentIds.has(k.id));
  // Work on copies keyed by position: gather's ids are hashes of the canonical URL, so two dropped files that
  // name the same URL share an id, and each must still keep its own quotes and offsets. Positions follow a
  // canonical order, not the order the items came in, so the same items give the same quotes however gather
  // (whose feeds finish in any order) lists them.
  const originals = [...canonicalOrder(items), ...canonicalOrder(knownItems)];
  const all: SourceItem[] = originals.map((it, i) => ({ ...it, id: String(i) }));
  const current = new Set(all.slice(0, items.length));
  const realId = (key: string) => originals[Number(key)]?.id ?? key;
  const index = buildSpeakerIndex(opts.speakers);
  const matcher = buildThemeMatcher(opts.themes);
  const knownLabel = (label: string) => index.resolveLabel(label) !== null;
  const speakerById = new Map(opts.speakers.map((sp) => [sp.id, sp]));

  const found: Found[] = [];
  const voicesByItem = new Map<string, PassageVoice>();
  for (const item of all) {
    const text = item.text;
    const raws = findQuotes(text, knownLabel, item.html, item.primary);
    const labelRanges = raws.filter((r) => r.form === 'turn').map((r) => ({ start: text.lastIndexOf('\n', r.start - 1) + 1, end: r.start }));
    const mentions: Mention[] = index.mentions(text).filter((m) => !labelRanges.some((l) => m.start >= l.start && m.end <= l.end));
    // People the item quotes by name who are not in speakers.yaml ("— Alan Turing"): their mentions count as
    // "someone else was named last", so a later "he says" is not pinned on an earlier known speaker.
    for (const label of new Set(raws.filter((r) => r.form !== 'turn' && r.label && !index.resolve(r.label)).map((r) => r.label!))) {
      const surname = label.split(/\s+/).pop()!;
      const re = new RegExp(`(?<![\\p{L}])(?:${[label, surname].map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\p{L}])`, 'gu');
      for (const m of text.matchAll(re)) mentions.push({ start: m.index!, end: m.index! + m[0].length, speaker: UNKNOWN_PERSON });
    }
    // Handles the page ties to a name ("**Theo Kwiatkowski** (@tkwiat) wrote:") are that person wherever used.
    for (const h of handleMentions(text, mentions)) if (!mentions.some((m) => m.start < h.end && h.start < m.end)) mentions.push(h);
    mentions.sort((a, b) => a.start - b.start);
    const titleSpeakers = index.mentions(item.title).map((m) => m.speaker);
    const turns = raws.filter((r) => r.form === 'turn' && r.label);
    const roster =
      turns.length > 0
        ? labelRoster(text, [...new Set(turns.map((r) => r.label!))], index, Math.min(...labelRanges.map((l) => l.start)), turns.map((r) => ({ label: r.label!, start: r.start, end: r.end })).sort((a, b) => a.start - b.start), item.speakers)
        : undefined;
    const done = new Map<number, Attribution>();
    const lines = splitLines(text);
    const voices: PassageVoice = {
      spans: [],
      // The page's own prose is its author's: a known speaker when the byline names one.
      author: { speaker: (item.author ? index.resolve(item.author) : null) ?? null, voice: `author:${item.id}` },
      turnStarts: new Map(),
    };
    raws.forEach((raw, qi) => {
      const attribution = attribute(qi, { text, item, quotes: raws, index, done, mentions, titleSpeakers, ...(roster ? { roster } : {}) });
      done.set(qi, attribution);
      const quoteText = text.slice(raw.start, raw.end);
      const lineIdx = lines.findIndex((l) => l.end >= raw.start);
      const context = lines
        .slice(Math.max(0, lineIdx - 2), lineIdx + 1)
        .map((l) => text.slice(l.start, l.end))
        .join('\n');
      const own = matcher.score(quoteText);
      const themes = themesFor(matcher, quoteText, context, own);
      const themeHits = [...own.values()].reduce((a, b) => a + b, 0);
      found.push({ item, raw, attribution, themes, themeHits, known: !current.has(item) });
      if (raw.form === 'turn') {
        const lineStart = text.lastIndexOf('\n', raw.start - 1) + 1;
        voices.turnStarts.set(lineStart, raw.start);
      }
      const voice = attribution.speaker ?? (raw.form === 'turn' ? `turn:${item.id}:${raw.label}` : `quote:${item.id}:${raw.start}`);
      voices.spans.push({ start: raw.start, end: raw.end, speaker: attribution.speaker, voice, form: raw.form === 'marks' ? 'marks' : raw.form === 'turn' ? 'turn' : 'other' });
    });
    voicesByItem.set(item.id, voices);
  }

  const cands: DedupeCandidate[] = found.map((f) => ({
    itemId: f.item.id,
    sourceId: f.item.sourceId,
    primary: f.item.primary,
    known: f.known,
    fragment: f.raw.kind === 'fragment',
    start: f.raw.start,
    end: f.raw.end,
    text: f.item.text.slice(f.raw.start, f.raw.end),
  }));
  const primaries = all.filter((i) => i.primary).map((i) => ({ itemId: i.id, sourceId: i.sourceId, text: i.text }));
  const groups = groupQuotes(cands, primaries);
  const byId = new Map(all.map((i) => [i.id, i]));
  const cite = (itemId: string, start: number, end: number): Citation | null => {
    const it = byId.get(itemId);
    if (!it || start < 0 || end > it.text.length || start >= end) return null;
    return { itemId, source: it.origin, url: it.url, title: it.title, start, end };
  };

  const quotes: Quote[] = [];
  const claimVoices = new Map<string, string>();
  const usedIds = new Map<string, number>();
  for (const g of groups) {
    const main = found[g.members[0]!]!;
    const text = main.item.text.slice(main.raw.start, main.raw.end);
    // Invariant: the shown words are the item's own characters at the cited offsets.
    if (text !== cands[g.members[0]!]!.text || text.length === 0) continue;
    // Another wording of the group may name the speaker more surely; but a weak guess at one place (a quote
    // in someone's turn pinned on the person last named) does not override the main wording found to be
    // nobody's words (a slogan in a noun phrase: the high priest of “scaling is all you need”).
    const best = g.members
      .map((m) => found[m]!)
      .reduce(
        (a, b) =>
          // (A wording that names nobody, "SPEAKER 3" unresolved, is sure of nothing: any named wording beats it.)
          (b.attribution.confidence > a.attribution.confidence || (a.attribution.speaker === null && a.attribution.method === 'label')) &&
          b.attribution.speaker !== null &&
          (main.attribution.speaker !== null || main.attribution.method !== 'none' || b.attribution.confidence >= 0.7)
            ? b
            : a,
        main,
      );
    const attribution = best.attribution.speaker !== null ? best.attribution : main.attribution;
    const speaker = attribution.confidence >= opts.analyze.attributionThreshold ? attribution.speaker : null;
    const citations: Citation[] = [];
    const seen = new Set<string>();
    for (const m of g.members) {
      const c = cands[m]!;
      const ct = cite(c.itemId, c.start, c.end);
      const k = `${c.itemId}:${c.start}:${c.end}`;
      if (ct && !seen.has(k) && byId.get(c.itemId)!.text.slice(ct.start, ct.end) === c.text) {
        seen.add(k);
        citations.push(ct);
      }
    }
    for (const p of g.primaryCitations) {
      const ct = cite(p.itemId, p.start, p.end);
      if (ct) citations.push(ct);
    }
    let id = quoteId(text);
    const n = usedIds.get(id) ?? 0;
    usedIds.set(id, n + 1);
    if (n > 0) id = `${id}-${n + 1}`;
    const themes = main.themes.length > 0 ? main.themes : [...new Set(g.members.flatMap((m) => found[m]!.themes))];
    const speakerCfg = speaker ? speakerById.get(speaker) : undefined;
    const stance = stanceOf({ text, speakerStance: speakerCfg?.stance ?? null, sourceStance: main.item.stance });
    const q: Omit<Quote, 'score'> = {
      id,
      text,
      speaker,
      attribution: { method: attribution.method, confidence: Math.round(attribution.confidence * 100) / 100 },
      source: main.item.origin,
      itemId: main.item.id,
      url: main.item.url,
      start: main.raw.start,
      end: main.raw.end,
      kind: main.raw.kind,
      themes,
      stance,
      status: g.status,
      citations,
    };
    quotes.push({ ...q, score: scoreQuote(q, opts.speakers, main.themeHits) });
    claimVoices.set(
      id,
      speaker ?? (main.raw.form === 'turn' ? `turn:${main.item.id}:${main.raw.label}` : `quote:${main.item.id}:${main.raw.start}`),
    );
  }
  // Every candidate's state (its attribution, themes, dedupe record) is done with once the quotes are built;
  // emptied here rather than kept alive until analyze returns, through the counterpoint stage's peak.
  found.length = 0;
  cands.length = 0;
  groups.length = 0;
  // Ties by id in code-unit order: the same order localeCompare gives these ASCII ids, at a fraction of the cost.
  quotes.sort((a, b) => b.score - a.score || cmp(a.id, b.id));

  const passages = all.flatMap((it) => buildPassages(it, voicesByItem.get(it.id)!));
  voicesByItem.clear();
  // Key claims: a named speaker's (or an explicitly attributed person's) words long enough to argue with.
  const claims = quotes.filter(
    (q) =>
      q.kind !== 'fragment' &&
      // Cut off mid-sentence ("if you — [crosstalk]") it claims nothing whole.
      !BROKEN_OFF.test(q.text) &&
      countWords(q.text) >= 12 &&
      (q.speaker !== null ? !speakerById.get(q.speaker)?.interviewer : q.attribution.method === 'dash') &&
      !(q.speaker === null && q.attribution.method === 'label'),
  );
  // A quote inside a longer claim by the same speaker is answered through that claim.
  const claimsByItem = groupBy(claims, (q) => q.itemId);
  const outerClaims = claims.filter(
    (q) =>
      !claimsByItem.get(q.itemId)!.some(
        (o) => o !== q && o.start <= q.start && o.end >= q.end && o.end - o.start > q.end - q.start && o.speaker === q.speaker,
      ),
  );
  const automatic = pairCounterpoints(outerClaims, claimVoices, passages, {
    themes: opts.themes,
    speakers: opts.speakers,
    matcher,
    threshold: opts.analyze.counterpointThreshold,
    ...(opts.traceCounterpoints ? { trace: opts.traceCounterpoints } : {}),
  }).filter((c) => byId.get(c.itemId)?.text.slice(c.start, c.end) === c.text);
  const edited = applyEditorPairs(automatic, opts.analyze.pairs ?? [], quotes, passages, all.filter((it) => current.has(it)), opts.speakers, all.filter((it) => !current.has(it)));
  const counterpoints = edited.counterpoints;
  // Key quotes by the items they cite, in score order, so each counterpoint looks only at its own item's.
  const keyByItem = new Map<string, Quote[]>();
  for (const q of quotes) {
    if (q.kind === 'fragment') continue;
    for (const itemId of new Set(q.citations.map((ct) => ct.itemId))) {
      const list = keyByItem.get(itemId);
      if (list) list.push(q);
      else keyByItem.set(itemId, [q]);
    }
  }
  for (const c of counterpoints) {
    const twin = (keyByItem.get(c.itemId) ?? []).find((q) => q.citations.some((ct) => ct.itemId === c.itemId && ct.start <= c.start && ct.end >= c.end && ct.end - ct.start <= (c.end - c.start) * 1.5));
    if (twin) c.counterQuoteId = twin.id;
  }

  const tokens = items.reduce((n, it) => n + countWords(it.text), 0);
  // Back to the items' own ids.
  for (const q of quotes) {
    q.itemId = realId(q.itemId);
    for (const c of q.citations) c.itemId = realId(c.itemId);
  }
  for (const c of counterpoints) c.itemId = realId(c.itemId);
  return { quotes, counterpoints, tokens, ...(edited.problems.length ? { problems: edited.problems } : {}) };
}

/** Mentions of @handles that the text ties to a known person by "Name (@handle)" or "Name @handle". */
function handleMentions(text: string, mentions: readonly Mention[]): Mention[] {
  const byHandle = new Map<string, string>();
  for (const m of text.matchAll(/[\p{L}.*_]\s{0,2}[(\[]?\s?@([A-Za-z0-9_]{2,30})\b/gu)) {
    const at = m.index!;
    const person = [...mentions].reverse().find((x) => x.end <= at + 1 && at + 1 - x.end <= 4 && x.speaker !== UNKNOWN_PERSON);
    if (person && !byHandle.has(m[1]!.toLowerCase())) byHandle.set(m[1]!.toLowerCase(), person.speaker);
  }
  if (byHandle.size === 0) return [];
  const out: Mention[] = [];
  for (const m of text.matchAll(/(?<![\w@])@([A-Za-z0-9_]{2,30})\b/g)) {
    const id = byHandle.get(m[1]!.toLowerCase());
    if (id) out.push({ start: m.index!, end: m.index! + m[0].length, speaker: id });
  }
  return out;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = out.get(k);
    if (list) list.push(x);
    else out.set(k, [x]);
  }
  return out;
}

/** The `digest analyze --json` contract. */
export function analysisToJson(analysis: Analysis) {
  const quoteText = new Map(analysis.quotes.map((q) => [q.id, q.text]));
  return {
    quotes: analysis.quotes.map((q) => ({
      id: q.id,
      text: q.text,
      speaker: q.speaker,
      source: q.source,
      start: q.start,
      end: q.end,
      kind: q.kind,
      status: q.status,
      themes: q.themes,
      stance: q.stance,
      attribution: q.attribution,
      citations: q.citations,
    })),
    counterpoints: analysis.counterpoints.map((c) => ({
      quoteId: c.quoteId,
      quote: quoteText.get(c.quoteId) ?? '',
      text: c.text,
      speaker: c.speaker,
      source: c.source,
      start: c.start,
      end: c.end,
      reason: c.reason,
      confidence: c.confidence,
    })),
  };
}
