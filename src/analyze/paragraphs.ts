/**
 * Offsets into SourceItem.text. Nothing here copies, trims or rewrites characters: every span is a pair of
 * indexes into the original string, so whatever is sliced out later is verbatim by construction.
 */

export interface Span {
  start: number;
  end: number;
}

/** Narrow [start, end) so it neither starts nor ends with whitespace. */
export function trimSpan(text: string, start: number, end: number): Span {
  let s = start;
  let e = end;
  while (s < e && /\s/.test(text[s] ?? '')) s++;
  while (e > s && /\s/.test(text[e - 1] ?? '')) e--;
  return { start: s, end: e };
}

/** Every line, without its newline (empty lines included, so line i is lines()[i]). */
export function splitLines(text: string): Span[] {
  const out: Span[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === '\n') {
      out.push({ start, end: i });
      start = i + 1;
    }
  }
  return out;
}

/**
 * Paragraphs: runs of non-blank lines. Sources differ (Markdown uses blank lines, some blogs one line per
 * paragraph), so `byLine` treats each non-blank line as its own paragraph.
 */
export function splitParagraphs(text: string, byLine = false): Span[] {
  const out: Span[] = [];
  let cur: Span | null = null;
  for (const line of splitLines(text)) {
    const blank = text.slice(line.start, line.end).trim() === '';
    if (blank || byLine) {
      if (cur) out.push(trimSpan(text, cur.start, cur.end));
      cur = null;
      if (!blank) out.push(trimSpan(text, line.start, line.end));
      continue;
    }
    if (cur) cur.end = line.end;
    else cur = { start: line.start, end: line.end };
  }
  if (cur) out.push(trimSpan(text, cur.start, cur.end));
  return out;
}

const ABBREV = /(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|vs|etc|e\.g|i\.e|Inc|Jr|Sr|U\.S|No|Fig)\.)$/i;

/**
 * Sentences inside [start, end): a boundary after . ! ? … (and any closing quote or bracket) followed by
 * whitespace, and at every newline. Abbreviations like "e.g." do not end a sentence.
 */
export function splitSentences(text: string, start = 0, end = text.length): Span[] {
  const out: Span[] = [];
  let s = start;
  for (let i = start; i < end; i++) {
    const c = text[i] ?? '';
    if (c === '\n') {
      const t = trimSpan(text, s, i);
      if (t.end > t.start) out.push(t);
      s = i + 1;
      continue;
    }
    if (c === '.' || c === '!' || c === '?' || c === '…') {
      let j = i + 1;
      while (j < end && /[.!?…"”’')\]]/.test(text[j] ?? '')) j++;
      if (j < end && !/\s/.test(text[j] ?? '')) continue;
      if (c === '.' && ABBREV.test(text.slice(Math.max(s, i - 6), i + 1))) continue;
      // "5.5" or "v4.1" are not boundaries; neither is a lowercase continuation after an ellipsis.
      let k = j;
      while (k < end && text[k] === ' ') k++;
      if (c === '…' && k < end && /[a-z]/.test(text[k] ?? '')) continue;
      const t = trimSpan(text, s, j);
      if (t.end > t.start) out.push(t);
      s = j;
      i = j - 1;
    }
  }
  const t = trimSpan(text, s, end);
  if (t.end > t.start) out.push(t);
  return out;
}

/** Word tokens with offsets: letters, digits and inner apostrophes/hyphens ("don’t", "15-year-old"). */
export interface Token extends Span {
  /** Lower-cased, curly apostrophes straightened, "×" read as "x". */
  norm: string;
}

export function tokenize(text: string, start = 0, end = text.length): Token[] {
  const out: Token[] = [];
  const re = /[\p{L}\p{N}]+(?:[’'\-.×][\p{L}\p{N}]+)*×?/gu;
  re.lastIndex = start;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m.index >= end) break;
    const e = Math.min(end, m.index + m[0].length);
    out.push({ start: m.index, end: e, norm: normalizeWord(text.slice(m.index, e)) });
  }
  return out;
}

export function normalizeWord(w: string): string {
  const lower = w.toLowerCase();
  // Plain ASCII words (almost all of them) need no Unicode folding.
  let ascii = true;
  for (let i = 0; i < lower.length && ascii; i++) ascii = lower.charCodeAt(i) < 128;
  if (ascii) return lower;
  return lower.replace(/’/g, "'").replace(/×/g, 'x').normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
}

const WORD = /[\p{L}\p{N}]+(?:[’'\-.×][\p{L}\p{N}]+)*×?/gu;

/** `tokenize(text, start, end).length`, without building the tokens. */
export function countTokens(text: string, start = 0, end = text.length): number {
  WORD.lastIndex = start;
  let n = 0;
  let m: RegExpExecArray | null;
  while ((m = WORD.exec(text)) !== null && m.index < end) n++;
  return n;
}

/** The number of tokens `tokenize` would return, without building them. */
export function countWords(text: string): number {
  WORD.lastIndex = 0;
  let n = 0;
  while (WORD.exec(text) !== null) n++;
  return n;
}

/**
 * Text as an editor may copy it, made comparable: curly apostrophes and quotation marks as straight ones, any run
 * of spaces or line breaks as one space, trimmed (settings.yaml's editor pairs against the sources).
 */
export function foldTypography(t: string): string {
  return t.replace(/[’‘]/g, "'").replace(/[“”]/g, '"').replace(/\s+/g, ' ').trim();
}
