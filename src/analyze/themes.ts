import type { ThemeConfig } from '../model.js';

/**
 * Themes by cue phrases from themes.yaml, matched case-insensitively on word boundaries. A quote with no cue
 * of its own borrows the single strongest theme of its surroundings (the paragraph or section heading),
 * since "I don't think that's true" is about whatever the paragraph is about.
 */

export interface ThemeMatcher {
  /** Cue hits per theme id, in config order, zero-hit themes left out. */
  score(text: string): Map<string, number>;
  order: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Cue {
  theme: number;
  words: string[];
}

const SEPARATOR = /^[-‐–\s]+$/u;

/**
 * Cue hits per theme. Cues that are words joined by spaces or dashes (all of the shipped ones) are matched on
 * the text's word runs: one pass and a lookup per word, instead of one Unicode regex scan per theme, which
 * cost more than the rest of the analysis at 10,000 items. It counts as the regex did: a cue matches whole
 * words, case-insensitively, across any run of spaces or dashes; matches of one theme do not overlap, and the
 * longest cue wins where several start at one word. A theme with any other kind of cue keeps the regex.
 */
export function buildThemeMatcher(themes: ThemeConfig[]): ThemeMatcher {
  const byFirst = new Map<string, Cue[]>();
  const regexes: (RegExp | null)[] = themes.map((t, ti) => {
    if (t.cues.length === 0) return null;
    const sorted = [...t.cues].sort((a, b) => b.length - a.length);
    const parsed = sorted.map((c) => {
      const lower = c.toLowerCase().replace(/’/g, "'").replace(/×/g, 'x');
      const words = lower.split(/[-‐–\s]+/u);
      return words.every((w) => /^[\p{L}\p{N}]+$/u.test(w)) ? words : null;
    });
    if (parsed.every((w) => w !== null)) {
      for (const words of parsed as string[][]) {
        const list = byFirst.get(words[0]!);
        const cue = { theme: ti, words };
        if (list) list.push(cue);
        else byFirst.set(words[0]!, [cue]);
      }
      return null;
    }
    return new RegExp(
      `(?<![\\p{L}\\p{N}])(?:${sorted.map((c) => escape(c).replace(/[-‐–\s]+/g, '[-‐–\\s]+').replace(/x$/, '[x×]')).join('|')})(?![\\p{L}\\p{N}])`,
      'giu',
    );
  });
  const wordRe = /[\p{L}\p{N}]+/gu;
  return {
    order: themes.map((t) => t.id),
    score(text: string) {
      const counts = new Array<number>(themes.length).fill(0);
      const folded = text.replace(/’/g, "'");
      if (byFirst.size > 0) {
        const lower = folded.toLowerCase().replace(/×/g, 'x');
        const words: string[] = [];
        /** Whether the gap after word k is only spaces and dashes. */
        const joined: boolean[] = [];
        let lastEnd = -1;
        wordRe.lastIndex = 0;
        for (let m = wordRe.exec(lower); m !== null; m = wordRe.exec(lower)) {
          if (words.length > 0) joined[words.length - 1] = SEPARATOR.test(lower.slice(lastEnd, m.index));
          words.push(m[0]);
          lastEnd = m.index + m[0].length;
        }
        const nextFree = new Array<number>(themes.length).fill(0);
        for (let k = 0; k < words.length; k++) {
          const cues = byFirst.get(words[k]!);
          if (!cues) continue;
          for (const cue of cues) {
            if (k < nextFree[cue.theme]!) continue;
            const n = cue.words.length;
            if (k + n > words.length) continue;
            let ok = true;
            for (let j = 1; j < n && ok; j++) ok = joined[k + j - 1] === true && words[k + j] === cue.words[j];
            if (!ok) continue;
            counts[cue.theme]!++;
            nextFree[cue.theme] = k + n;
          }
        }
      }
      const out = new Map<string, number>();
      themes.forEach((t, ti) => {
        const re = regexes[ti];
        const n = re ? [...folded.matchAll(re)].length : counts[ti]!;
        if (n > 0) out.set(t.id, n);
      });
      return out;
    },
  };
}

/** Theme ids for a quote: its own cue hits (strongest first), else the context's strongest theme. */
export function themesFor(matcher: ThemeMatcher, quoteText: string, context: string, own = matcher.score(quoteText)): string[] {
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1] || matcher.order.indexOf(a[0]) - matcher.order.indexOf(b[0])).map(([id]) => id);
  if (own.size > 0) {
    const ranked = rank(own);
    const top = own.get(ranked[0]!) ?? 0;
    // Keep themes that are more than a passing mention: at most three, each with at least a third of the top hits.
    return ranked.filter((id) => (own.get(id) ?? 0) * 3 >= top).slice(0, 3);
  }
  const ctx = rank(matcher.score(context));
  return ctx.slice(0, 1);
}
