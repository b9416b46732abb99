import type { AnalyzeConfig, Analysis, Quote, SpeakerConfig, Stance } from '../model.js';
import { countWords } from './paragraphs.js';

/**
 * How worth showing a quote is: corroborated words by a named speaker, central to a theme, long enough to
 * say something and short enough to read in an email. Interviewers ask more than they claim, so their
 * lines rank lower.
 */
export function scoreQuote(q: Omit<Quote, 'score'>, speakers: SpeakerConfig[], themeHits: number): number {
  let s = q.kind === 'direct' ? 1 : q.kind === 'quote-of-quote' ? 0.6 : 0.05;
  s += { verified: 0.6, corroborated: 0.35, paraphrase: 0.1, 'single-source': 0 }[q.status];
  const sp = q.speaker ? speakers.find((x) => x.id === q.speaker) : undefined;
  if (sp) s += sp.interviewer ? 0.1 : 0.4;
  s += 0.2 * q.attribution.confidence;
  if (q.themes.length > 0) s += 0.2 + 0.05 * Math.min(4, themeHits);
  const words = countWords(q.text);
  if (words >= 15 && words <= 80) s += 0.3;
  else if (words >= 8 && words < 15) s += 0.15;
  else if (words > 80 && words <= 150) s += 0.1;
  else if (words > 150) s -= 0.3;
  s += 0.05 * Math.min(4, q.citations.length - 1);
  return Math.round(s * 1000) / 1000;
}

/**
 * The quotes for one issue, best first: key quotes only (no fragments), at most maxQuotesPerTheme per
 * theme (a quote counts for its first theme) and maxQuotes in all, taking themes in turn so one busy theme
 * cannot fill the issue, and within a theme giving each side its best quote before any side gets a second.
 */
export function selectQuotes(analysis: Analysis, cfg: AnalyzeConfig): Quote[] {
  const key = analysis.quotes
    .filter((q) => q.kind !== 'fragment')
    .sort((a, b) => b.score - a.score || byId(a, b));
  const byTheme = new Map<string, Quote[]>();
  for (const q of key) {
    const t = q.themes[0] ?? '';
    const list = byTheme.get(t);
    if (list) list.push(q);
    else byTheme.set(t, [q]);
  }
  const queues = [...byTheme.entries()]
    .sort((a, b) => (a[0] === '' ? 1 : 0) - (b[0] === '' ? 1 : 0))
    .map(([theme, qs]) => ({ theme, queue: balanceSides(qs).slice(0, cfg.maxQuotesPerTheme) }));
  const out: Quote[] = [];
  for (let round = 0; out.length < cfg.maxQuotes; round++) {
    let added = false;
    for (const { queue } of queues) {
      const q = queue[round];
      if (q && out.length < cfg.maxQuotes) {
        out.push(q);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

/** Ids in code-unit order (the order localeCompare gives these ASCII ids, without its cost at 40,000 quotes). */
const byId = (a: Quote, b: Quote) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Reorder so each stance's best quote comes before any stance's second. */
function balanceSides(qs: Quote[]): Quote[] {
  const bySide = new Map<Stance, Quote[]>();
  for (const q of qs) {
    const list = bySide.get(q.stance);
    if (list) list.push(q);
    else bySide.set(q.stance, [q]);
  }
  const out: Quote[] = [];
  for (let i = 0; out.length < qs.length; i++) {
    const tier = [...bySide.values()].map((l) => l[i]).filter((q): q is Quote => q !== undefined);
    tier.sort((a, b) => b.score - a.score || byId(a, b));
    out.push(...tier);
  }
  return out;
}
