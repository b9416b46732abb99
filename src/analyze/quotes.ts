import type { QuoteKind } from '../model.js';
import { countWords, splitLines, tokenize, trimSpan, type Span } from './paragraphs.js';

/**
 * Finding quoted spans in plain text. Every span is an offset pair into the text; nothing is rewritten.
 *
 * Forms: quotation marks (curly or straight, nested, broken pairs like “…“, unclosed marks that carry a
 * quote over several paragraphs), transcript turns (`Name:`, `Q:`, `SPEAKER 2:`, `[00:12:34] Name:`),
 * Markdown block quotes, and a paragraph followed by a `— Name` line.
 */

export type QuoteForm = 'marks' | 'turn' | 'blockquote' | 'dash-line';

export interface RawQuote extends Span {
  form: QuoteForm;
  /** Index of the enclosing quote in the returned array (a quote inside a quote or inside a turn). */
  parent: number | null;
  /** Turn label ("Sutskever", "Q", "SPEAKER 2") or the name on a `— Name` line/after the closing mark. */
  label: string | null;
  kind: QuoteKind;
  words: number;
  /** Quoted as a name — a headline, title or heading ("under the headline “…”") — not as someone's words. */
  title: boolean;
}

const TITLE_BEFORE =
  /\b(?:headline|headlined|title|titled|heading|subheading|episode|post|paper|book|article|essay|piece|video|podcast|chapter|section|thread|newsletter|called|named|entitled)(?:\s+(?:is|was|of|reads|read))?[\s,:]*$/i;

/** True when the words before a quote name it as a title ("under the headline “…”", "the episode “…”"). */
export function isTitleMention(text: string, start: number): boolean {
  const before = text.slice(Math.max(0, start - 60), start).replace(/[“"‘«]\s*$/, '');
  if (!TITLE_BEFORE.test(before)) return false;
  // "As Renn put it in his newsletter, “a model that…”": after a comma, words that run on in lower case are
  // someone's sentence, not the name of a piece.
  const first = /[\p{L}]/u.exec(text.slice(start + 1, start + 40))?.[0] ?? '';
  return !(/,\s*$/.test(before) && first !== first.toUpperCase());
}

const DOUBLE_OPEN = new Set(['“', '„', '«']);
const DOUBLE_CLOSE = new Set(['”', '»']);
const QUOTE_CHARS = '“”„«»"‘’\'';

function isOpenerContext(prev: string | undefined): boolean {
  return prev === undefined || /[\s(\[{—–\-/:;>*_]/.test(prev) || QUOTE_CHARS.includes(prev);
}
function isCloserContext(next: string | undefined): boolean {
  return next === undefined || /[\s.,;:!?)\]}…—–\-*_]/.test(next) || QUOTE_CHARS.includes(next);
}
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}]/u.test(c);

interface Open {
  family: 'double' | 'single';
  contentStart: number;
  id: number;
}

interface MarkPair extends Span {
  id: number;
  parentId: number | null;
}

/** Pair quotation marks by context (a mark after a space and before a word opens; one before a space closes). */
export function pairMarks(text: string): MarkPair[] {
  const out: MarkPair[] = [];
  const stack: Open[] = [];
  const skip = new Set<number>();
  let nextId = 0;
  const hasOpen = (family: 'double' | 'single') => stack.some((o) => o.family === family);
  const close = (family: 'double' | 'single', at: number) => {
    while (stack.length > 0) {
      const o = stack.pop()!;
      if (o.family !== family) continue; // an unclosed inner quote of the other family is dropped
      const parent = stack.length > 0 ? stack[stack.length - 1]!.id : null;
      out.push({ start: o.contentStart, end: at, id: o.id, parentId: parent });
      return;
    }
  };
  const open = (family: 'double' | 'single', at: number) => stack.push({ family, contentStart: at + 1, id: nextId++ });

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      if (stack.length === 0) continue;
      // A quote running over several paragraphs: each new paragraph starts with an opening mark again.
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      const first = text[j];
      const bottom = stack[0]!;
      const reopens = first !== undefined && (bottom.family === 'double' ? DOUBLE_OPEN.has(first) || first === '"' : first === '‘' || first === "'");
      if (reopens && stack.length === 1) {
        skip.add(j);
      } else {
        stack.length = 0; // unclosed at the paragraph's end: not a quote we can trust
      }
      continue;
    }
    if (!QUOTE_CHARS.includes(c) || skip.has(i)) continue;
    const prev = i > 0 ? text[i - 1] : undefined;
    const next = text[i + 1];
    // An opening mark comes before a word (or another mark, a bracket, an ellipsis), never before "." or a space.
    const nextIsSpace = !(isWordChar(next) || (next !== undefined && /[“‘"'(\[…$£€¡¿-]/.test(next)));
    if (DOUBLE_CLOSE.has(c)) {
      if (hasOpen('double')) close('double', i);
      else if (isOpenerContext(prev) && !nextIsSpace) open('double', i);
    } else if (DOUBLE_OPEN.has(c)) {
      if (isOpenerContext(prev) && !nextIsSpace) open('double', i);
      else if (hasOpen('double')) close('double', i); // the "…“" typo: an opening mark used to close
    } else if (c === '"') {
      const looksOpening = isOpenerContext(prev) && !nextIsSpace;
      if (hasOpen('double') && (!looksOpening || (!isWordChar(next) && isCloserContext(next)))) close('double', i);
      else if (looksOpening) open('double', i);
      else if (hasOpen('double')) close('double', i);
    } else if (c === '‘') {
      if (isOpenerContext(prev) && !nextIsSpace) open('single', i);
    } else if (c === '’' || c === "'") {
      // An apostrophe sits between letters ("don’t") or after a plural ("students’ "): only close an open quote.
      if (hasOpen('single') && !isWordChar(next) && !(prev !== undefined && /\s/.test(prev))) close('single', i);
      else if (c === "'" && isOpenerContext(prev) && isWordChar(next)) open('single', i);
    }
  }
  return out;
}

const GENERIC_LABELS = /^(?:Q|A|Question|Answer|Host|Guest|Interviewer|Interviewee|Moderator|SPEAKER[ _]?\d+|Speaker \d+)$/;
const NOT_LABELS = /^(?:Note|Notes|Summary|Update|Edit|Source|Sources|Title|Description|Date|Labels|Tags|Link|Links|Transcript|Warning|Tip|Example|Step \d+|Part \d+|Chapter \d+|TL;?DR|PS|P\.S\.|Disclaimer|Posted|Published|Updated|By)$/i;
const TURN_RE =
  /^([ \t]*(?:[[(]?(?:\d{1,2}:)?\d{1,2}:\d{2}[\])]?[ \t]*)?(?:\*\*)?)([A-Z][\p{L}.'’\- ]{0,40}?|SPEAKER[ _]?\d+|Speaker \d+)((?:\*\*)?[ \t]*(?:[[(](?:\d{1,2}:)?\d{1,2}:\d{2}[\])])?(?:\*\*)?:(?:\*\*)?[ \t]+)(?=\S)/u;

interface TurnLine {
  line: Span;
  label: string;
  contentStart: number;
}

/** Lines that open a transcript turn. `knownLabel` says whether a label names a known speaker. */
export function findTurnLines(text: string, knownLabel: (label: string) => boolean): TurnLine[] {
  const candidates: TurnLine[] = [];
  for (const line of splitLines(text)) {
    const m = TURN_RE.exec(text.slice(line.start, line.end));
    if (!m) continue;
    const label = m[2]!.trim();
    if (NOT_LABELS.test(label) || label.split(/\s+/).length > 4) continue;
    if (!label.split(/\s+/).every((w) => /^[A-Z0-9]/.test(w))) continue;
    // "Host: Tomasz Wierzbicki. Guests: …" introduces the cast; nobody says it.
    const lead = text.slice(line.start + m[0].length, line.end).split(/[.;(]|$/m)[0]!.trim();
    if (GENERIC_LABELS.test(label) && lead.split(/\s+/).length <= 4 && knownLabel(lead)) continue;
    candidates.push({ line, label, contentStart: line.start + m[0].length });
  }
  const counts = new Map<string, number>();
  for (const c of candidates) counts.set(c.label, (counts.get(c.label) ?? 0) + 1);
  const accepted = candidates.filter((c) => GENERIC_LABELS.test(c.label) || knownLabel(c.label) || (counts.get(c.label) ?? 0) >= 2);
  // One "Name: text" line alone is more likely a heading or a definition than a transcript.
  return accepted.length >= 2 ? accepted : [];
}

const DASH_LINE = /^[ \t]*(?:—|–|―|--|-)[ \t]*([A-Z][^\n]{1,100})$/u;

/** The name in "— Alan Turing in his 1950 paper" or "-- Gary Marcus, NYU": words before a comma/paren/"in". */
export function nameFromAttribution(s: string): string | null {
  const cut = s.split(/[,(;:]| in | on | at | from | via | writing | quoted /)[0]!.trim().replace(/[.\s]+$/, '');
  if (!cut) return null;
  const words = cut.split(/\s+/);
  // A name: one to four capitalized words, particles allowed ("Yann Le Cun", "Ludwig van Beethoven").
  if (words.length > 4) return null;
  if (!words.every((w) => /^[A-Z\p{Lu}][\p{L}.'’-]*$/u.test(w) || /^(?:de|van|von|der|le|la|du|da|di|bin|al)$/.test(w))) return null;
  return cut;
}

function wordKind(words: number, nested: boolean): QuoteKind {
  if (nested) return words >= 5 ? 'quote-of-quote' : 'fragment';
  return words >= 8 ? 'direct' : 'fragment';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', mdash: '—', ndash: '–', hellip: '…' };

/** Text of each <blockquote> in sanitized HTML (nested ones included in their parent's text). */
export function blockquoteTexts(html: string): { text: string; cite: string | null }[] {
  const out: { text: string; cite: string | null }[] = [];
  const re = /<blockquote\b[^>]*>([\s\S]*?)<\/blockquote>/gi;
  const plain = (h: string) =>
    h.replace(/<[^>]+>/g, ' ').replace(/&(#x?[0-9a-f]+|\w+);/gi, (all, e: string) => {
      if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
      return ENTITIES[e.toLowerCase()] ?? all;
    });
  for (const m of html.matchAll(re)) {
    // A <cite> or <footer> that closes the block names who is quoted; it is not part of the words.
    const by = /<(cite|footer)\b[^>]*>([\s\S]*?)<\/\1>\s*(?:<\/p>\s*)?$/i.exec(m[1]!);
    const inner = plain(by ? m[1]!.slice(0, by.index) : m[1]!);
    if (inner.trim()) out.push({ text: inner, cite: by ? plain(by[2]!).replace(/^[\s—–-]+/, '').trim() || null : null });
  }
  return out;
}

/**
 * Where an HTML block quote's words stand in the plain text gather made from the same HTML: the first
 * token run that matches the block's words in order. Gather's text keeps the words, not the markup.
 */
function locateBlock(text: string, blockText: string, from: number): Span | null {
  const want = tokenize(blockText).map((t) => t.norm);
  if (want.length === 0) return null;
  const toks = tokenize(text, from);
  outer: for (let p = 0; p + want.length <= toks.length; p++) {
    for (let k = 0; k < want.length; k++) if (toks[p + k]!.norm !== want[k]) continue outer;
    return { start: toks[p]!.start, end: toks[p + want.length - 1]!.end };
  }
  return null;
}

/** All quoted spans of a text, outer ones before the ones they contain. `html`: the item's sanitized HTML. */
export function findQuotes(
  text: string,
  knownLabel: (label: string) => boolean = () => false,
  html: string | null = null,
  /** A primary transcript: a paragraph between two turns is the earlier turn's speaker going on. */
  primary = false,
): RawQuote[] {
  const blocks: { span: Span; form: QuoteForm; label: string | null }[] = [];
  if (html) {
    let from = 0;
    for (const { text: bt, cite } of blockquoteTexts(html)) {
      const at = locateBlock(text, bt, from);
      if (!at) continue;
      // Keep the closing punctuation the words end with ("…research." not "…research").
      let end = at.end;
      while (end < text.length && /[.!?…,;:)”"’]/.test(text[end]!)) end++;
      let start = at.start;
      // A block quote that is one quotation in marks: the span is inside the marks, as for any quote.
      if (/[“"‘]/.test(text[start - 1] ?? '') && /[”"’]/.test(text[end - 1] ?? '')) {
        end--;
      } else if (/[“"‘]/.test(text[start] ?? '')) start++;
      const span = trimSpan(text, start, end);
      if (span.end > span.start) blocks.push({ span, form: 'blockquote', label: cite ? nameFromAttribution(cite) : null });
      from = at.end;
    }
  }
  const lines = splitLines(text);

  // Transcript turns: from after the label to the next turn or blank line.
  const turns = findTurnLines(text, knownLabel);
  const turnStarts = new Set(turns.map((t) => t.line.start));
  // Turns pasted into someone's message as an excerpt ("This bit did the trick for me:\nPatel: …\nSutskever: …")
  // are one line each: the line after them is the message's author speaking again.
  const embedded = new Set<number>();
  for (const t of turns) {
    const idx = lines.findIndex((l) => l.start === t.line.start);
    const prev = idx > 0 ? lines[idx - 1]! : null;
    if (!prev) continue;
    const prevText = text.slice(prev.start, prev.end).trimEnd();
    if ((turnStarts.has(prev.start) && prevText.endsWith(':')) || embedded.has(prev.start))
      embedded.add(t.line.start);
  }
  for (const t of turns) {
    let end = t.line.end;
    const idx = lines.findIndex((l) => l.start === t.line.start);
    for (let k = idx + 1; k < lines.length && !embedded.has(t.line.start); k++) {
      const l = lines[k]!;
      if (turnStarts.has(l.start) || text.slice(l.start, l.end).trim() === '') break;
      end = l.end;
    }
    const span = trimSpan(text, t.contentStart, end);
    if (span.end > span.start) blocks.push({ span, form: 'turn', label: t.label });
    if (!primary || embedded.has(t.line.start)) continue;
    // An answer that runs over several paragraphs: each unlabelled paragraph before the next turn is the same
    // speaker's (only between turns: before the first is an introduction, after the last a closing note).
    const next = turns.find((o) => o.line.start > t.line.start);
    if (!next) continue;
    for (let k = lines.findIndex((l) => l.end >= end) + 1; k < lines.length && lines[k]!.start < next.line.start; k++) {
      const l = lines[k]!;
      const lineText = text.slice(l.start, l.end);
      if (lineText.trim() === '' || /^\s*[#>[(]/.test(lineText)) continue;
      let pEnd = l.end;
      while (k + 1 < lines.length && lines[k + 1]!.start < next.line.start && text.slice(lines[k + 1]!.start, lines[k + 1]!.end).trim() !== '') pEnd = lines[++k]!.end;
      const more = trimSpan(text, l.start, pEnd);
      if (more.end > more.start) blocks.push({ span: more, form: 'turn', label: t.label });
    }
  }

  // Markdown block quotes: consecutive "> " lines.
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k]!;
    const m = /^[ \t]*>[ \t]?/.exec(text.slice(l.start, l.end));
    if (!m) continue;
    // One paragraph per span: a bare ">" line separates the paragraphs of a longer block quote.
    if (/^[ \t]*>[ \t]*$/.test(text.slice(l.start, l.end))) continue;
    let last = k;
    while (last + 1 < lines.length && /^[ \t]*>[ \t]?\S/.test(text.slice(lines[last + 1]!.start, lines[last + 1]!.end))) last++;
    const span = trimSpan(text, l.start + m[0].length, lines[last]!.end);
    if (span.end > span.start) blocks.push({ span, form: 'blockquote', label: null });
    k = last;
  }

  const pairs = pairMarks(text);
  const dashLabels = new Map<number, string>();

  // A paragraph followed by a "— Name" line. A single hyphen is also a list bullet, so it counts only when
  // the paragraph above is not a list item itself.
  const blankLineParagraphs = /\n[ \t]*\n/.test(text);
  for (let k = 1; k < lines.length; k++) {
    const l = lines[k]!;
    const lineText = text.slice(l.start, l.end);
    const m = DASH_LINE.exec(lineText);
    if (!m) continue;
    const name = nameFromAttribution(m[1]!);
    if (!name) continue;
    let p = k - 1;
    while (p >= 0 && text.slice(lines[p]!.start, lines[p]!.end).trim() === '') p--;
    if (p < 0) continue;
    const prevText = text.slice(lines[p]!.start, lines[p]!.end);
    if (/^\s*-\s/.test(lineText) && /^\s*(?:[-*•]|\d+\.)\s/.test(prevText)) continue;
    // The paragraph above: the line above, and the lines before it only while they are a block quote.
    let first = p;
    const lineAt = (n: number) => text.slice(lines[n]!.start, lines[n]!.end);
    if (/^\s*>/.test(prevText)) {
      while (first > 0 && /^\s*>\s*\S/.test(lineAt(first - 1))) first--;
    } else if (blankLineParagraphs) {
      // Where paragraphs are separated by blank lines, a paragraph may wrap over several lines.
      while (first > 0 && lineAt(first - 1).trim() !== '' && !/^\s*(?:#|[-*•]\s|\d+\.\s|>)/.test(lineAt(first - 1))) first--;
    }
    let span = trimSpan(text, lines[first]!.start, lines[p]!.end);
    const bq = /^>[ \t]?/.exec(text.slice(span.start, span.end));
    if (bq) span = trimSpan(text, span.start + bq[0].length, span.end);
    // When the paragraph is one quotation in marks, the marks' quote is the span; the dash names its speaker.
    const whole = pairs.find((q) => q.start - 1 <= span.start + 1 && q.end + 1 >= span.end - 1 && q.parentId === null);
    if (whole) {
      dashLabels.set(whole.id, name);
      continue;
    }
    const existing = blocks.find((b) => b.span.start === span.start && b.span.end === span.end);
    if (existing) existing.label = existing.label ?? name;
    else blocks.push({ span, form: 'dash-line', label: name });
  }

  const out: RawQuote[] = [];
  blocks.sort((a, b) => a.span.start - b.span.start || b.span.end - a.span.end);
  const enclosing = (s: Span): number | null => {
    let best: number | null = null;
    for (let i = 0; i < out.length; i++) {
      const q = out[i]!;
      if (q.start <= s.start && q.end >= s.end && !(q.start === s.start && q.end === s.end)) {
        if (best === null || q.end - q.start < out[best]!.end - out[best]!.start) best = i;
      }
    }
    return best;
  };
  for (const b of blocks) {
    const words = countWords(text.slice(b.span.start, b.span.end));
    const parent = enclosing(b.span);
    out.push({ ...b.span, form: b.form, parent, label: b.label, kind: wordKind(words, false), words, title: false });
  }

  const byId = new Map<number, number>();
  const dropped = new Set<number>();
  const sortedPairs = [...pairs].sort((a, b) => a.start - b.start || b.end - a.end);
  for (const p of sortedPairs) {
    const span = trimSpan(text, p.start, p.end);
    if (span.end <= span.start) continue;
    const body = text.slice(span.start, span.end);
    if (!/[\p{L}\p{N}]/u.test(body)) continue;
    const words = countWords(body);
    let parent: number | null = p.parentId !== null ? (byId.get(p.parentId) ?? null) : null;
    if (parent === null) parent = enclosing(span);
    // A whole turn or block quote wrapped in marks is the same quote, not a quote inside it.
    if (parent !== null && out[parent]!.form !== 'marks') {
      const par = out[parent]!;
      if (span.start - par.start <= 1 && par.end - span.end <= 2) {
        byId.set(p.id, parent);
        continue;
      }
      // A block quote that is a quotation plus its attribution ("> “…,” said Marcus."): the quotation is the
      // quote, at top level, and the block is only its container on the page.
      if (par.form !== 'turn' && span.start - par.start <= 1 && span.end - span.start >= 0.6 * (par.end - par.start)) {
        dropped.add(parent);
        parent = par.parent;
      }
    }
    const after = text.slice(p.end + 1, text.indexOf('\n', p.end + 1) === -1 ? text.length : text.indexOf('\n', p.end + 1));
    const dash = /^\s*(?:—|–|―|--|-)\s*([A-Z].*)$/u.exec(after);
    const label = (dash ? nameFromAttribution(dash[1]!) : null) ?? dashLabels.get(p.id) ?? null;
    byId.set(p.id, out.length);
    const title = isTitleMention(text, p.start - 1);
    out.push({ ...span, form: 'marks', parent, label, kind: title ? 'fragment' : wordKind(words, parent !== null), words, title });
  }
  if (dropped.size === 0) return out;
  // Renumber parents after taking the container blocks out.
  const keep = out.map((_, i) => !dropped.has(i));
  const newIndex: number[] = [];
  let k = 0;
  for (let i = 0; i < out.length; i++) newIndex.push(keep[i] ? k++ : -1);
  const lift = (p: number | null): number | null => {
    while (p !== null && dropped.has(p)) p = out[p]!.parent;
    return p === null ? null : newIndex[p]!;
  };
  return out.filter((_, i) => keep[i]).map((q) => {
    const parent = lift(q.parent);
    return { ...q, parent, kind: q.form === 'marks' && !q.title ? wordKind(q.words, parent !== null) : q.kind };
  });
}
