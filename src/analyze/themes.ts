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

export function buildThemeMatcher(themes: ThemeConfig[]): ThemeMatcher {
  const compiled = themes.map((t) => ({
    id: t.id,
    re: t.cues.length
      ? new RegExp(
          `(?<![\\p{L}\\p{N}])(?:${[...t.cues].sort((a, b) => b.length - a.length).map((c) => escape(c).replace(/[-‐–\s]+/g, '[-‐–\\s]+').replace(/x$/, '[x×]')).join('|')})(?![\\p{L}\\p{N}])`,
          'giu',
        )
      : null,
  }));
  return {
    order: themes.map((t) => t.id),
    score(text: string) {
      const out = new Map<string, number>();
      const folded = text.replace(/’/g, "'");
      for (const c of compiled) {
        if (!c.re) continue;
        const n = [...folded.matchAll(c.re)].length;
        if (n > 0) out.set(c.id, n);
      }
      return out;
    },
  };
}

/** Theme ids for a quote: its own cue hits (strongest first), else the context's strongest theme. */
export function themesFor(matcher: ThemeMatcher, quoteText: string, context: string): string[] {
  const own = matcher.score(quoteText);
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
