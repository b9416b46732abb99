/**
 * `npm run eval`: score the analyzer against the hand-written gold sets in test/fixtures/gold/.
 *
 *   seeds/    the tuning set (annotates ../shared/seeds/)
 *   dev/, dev2/, dev3/ more tuning sets, each written and annotated by someone who never read the analyzer
 *   validation/ a set kept unseen for validation, scored only with `--validation` and like the held-out one
 *             (aggregates only, no trace): it estimates how the analyzer does on text it was not tuned on
 *   heldout/  written by someone else and never used for tuning: reported separately, aggregates only
 *
 * Each set's documents are analyzed together (so corroboration across them works). Figures: precision,
 * recall and F1 of key quote spans (direct + quote-of-quote), of spans with the right speaker, theme
 * accuracy, counterpoint precision@1, and the share of shown (selected) quotes that are verbatim.
 * `--json` prints the figures as JSON instead of a table; `--tuning-only` leaves the held-out set out;
 * `--verbose` lists, for the tuning sets, missed and extra spans, wrong speakers and every counterpoint;
 * `--trace "<start of a claim>"` shows every counterpoint candidate for it. Nothing is written.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { analyze, selectQuotes, type AnalyzeOptions } from '../src/analyze/index.js';
import type { AnalyzeConfig, Analysis, SourceItem, SpeakerConfig, Stance, ThemeConfig } from '../src/model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface GoldQuote {
  text: string;
  speaker: string | null;
  kind: 'direct' | 'fragment' | 'quote-of-quote';
  status?: string;
  themes: string[];
}
export interface GoldFile {
  document: string;
  set: string;
  declared: { title?: string; url?: string | null; speakers?: string[]; stance?: Stance | null; primary?: boolean };
  quotes: GoldQuote[];
  counterpoints: { quote: string; counter: string; speaker: string | null }[];
}

export const DEFAULT_ANALYZE: AnalyzeConfig = { attributionThreshold: 0.6, counterpointThreshold: 0.35, maxQuotes: 24, maxQuotesPerTheme: 4 };

export function loadSpeakers(file: string): SpeakerConfig[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { speakers?: Partial<SpeakerConfig>[] } | null;
  return (doc?.speakers ?? []).map((s) => ({
    id: String(s.id),
    name: String(s.name ?? s.id),
    aliases: (s.aliases ?? []).map(String),
    role: s.role ?? '',
    stance: s.stance ?? 'neutral',
    interviewer: s.interviewer ?? false,
  }));
}

export function loadThemes(file: string): ThemeConfig[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { themes?: Partial<ThemeConfig>[] } | null;
  return (doc?.themes ?? []).map((t) => ({
    id: String(t.id),
    title: String(t.title ?? t.id),
    description: String(t.description ?? ''),
    cues: (t.cues ?? []).map(String),
  }));
}

/** Text as gather reads it: the body after a front matter block. */
export function stripFrontMatter(raw: string): string {
  const src = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  const m = /^---\r?\n/.exec(src);
  if (!m) return src;
  const close = /^---[ \t]*(?:\r?\n|$)/m;
  const rest = src.slice(m[0].length);
  const c = close.exec(rest);
  if (!c) return src;
  return rest.slice(c.index + c[0].length);
}

export function documentPath(doc: string): string {
  return doc.startsWith('seeds/') ? path.resolve(ROOT, '..', 'shared', doc) : path.resolve(ROOT, doc);
}

async function readDocument(doc: string): Promise<{ text: string; html: string | null; author?: string | null }> {
  const file = documentPath(doc);
  const raw = readFileSync(file, 'utf8');
  try {
    // The same reader gather uses, so offsets (and the sanitized HTML) match what the pipeline would see.
    const files = (await import('../src/gather/files.js')) as { parseDroppedFile?: (c: string, p: string) => { item: SourceItem | null } };
    const item = files.parseDroppedFile?.(raw, path.basename(file)).item;
    // The byline too: gather reads it from front matter, and the analyzer gives the page's prose to it.
    if (item) return { text: item.text, html: item.html, author: item.author };
  } catch {
    // gather not available: fall back to the documented rules below
  }
  if (file.endsWith('.html') || file.endsWith('.htm')) {
    const s = (await import('../src/gather/sanitize.js')) as { htmlToText: (h: string) => string; sanitizeHtml: (h: string, base?: string) => string };
    const html = s.sanitizeHtml(raw, undefined);
    return { text: s.htmlToText(html), html };
  }
  return { text: stripFrontMatter(raw), html: null };
}

export function itemFromGold(g: GoldFile, text: string, html: string | null = null, author: string | null = null): SourceItem {
  return {
    id: g.document,
    kind: 'file',
    sourceId: g.document,
    origin: g.document,
    url: g.declared.url ?? null,
    links: [],
    guid: null,
    title: g.declared.title ?? path.basename(g.document),
    author,
    date: null,
    dateProblem: 'missing',
    speakers: g.declared.speakers ?? [],
    stance: g.declared.stance ?? null,
    primary: g.declared.primary ?? false,
    text,
    html,
    contentHash: g.document,
  };
}

const norm = (s: string) =>
  s
    .trim()
    .replace(/^[“”"‘’'«»\s]+|[“”"‘’'«»\s]+$/g, '')
    .replace(/[,;:]+$/, '')
    .replace(/\s+/g, ' ')
    .replace(/[’]/g, "'");

function multisetIntersect(a: string[], b: string[]): number {
  const m = new Map<string, number>();
  for (const x of a) m.set(x, (m.get(x) ?? 0) + 1);
  let n = 0;
  for (const x of b) {
    const c = m.get(x) ?? 0;
    if (c > 0) {
      n++;
      m.set(x, c - 1);
    }
  }
  return n;
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  predicted: number;
  gold: number;
}
const prf = (tp: number, predicted: number, gold: number): Prf => {
  const precision = predicted ? tp / predicted : 0;
  const recall = gold ? tp / gold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, predicted, gold };
};

export interface SetScore {
  documents: number;
  spans: Prf;
  spansWithSpeaker: Prf;
  allSpans: Prf;
  themeAccuracy: number;
  themeJudged: number;
  counterpointP1: number;
  counterpointsPredicted: number;
  counterpointRecall: number;
  verbatimShown: number;
  shown: number;
  /** Per document details (tuning set only). */
  details?: { document: string; missed: string[]; extra: string[]; wrongSpeaker: string[] }[];
  /** Every predicted counterpoint, right or wrong, and the gold pairs no prediction matched (not for held-out). */
  counterpointDetails?: { ok: boolean; quote: string; counter: string; speaker: string | null; confidence: number; reason: string }[];
  missedCounterpoints?: { quote: string; counter: string; speaker: string | null }[];
}

export function scoreSet(golds: GoldFile[], analysis: Analysis, items: SourceItem[], cfg: AnalyzeConfig, withDetails: boolean): SetScore {
  const byItem = new Map(items.map((i) => [i.id, i]));
  let tpKey = 0, predKey = 0, goldKey = 0, tpSp = 0, tpAll = 0, predAll = 0, goldAll = 0;
  let themeOk = 0, themeN = 0;
  const details: NonNullable<SetScore['details']> = [];
  golds.forEach((g) => {
    const pred: { text: string; speaker: string | null; key: boolean; themes: string[] }[] = [];
    for (const q of analysis.quotes) {
      for (const c of q.citations) {
        if (c.itemId !== g.document) continue;
        const t = byItem.get(c.itemId)!.text.slice(c.start, c.end);
        pred.push({ text: norm(t), speaker: q.speaker, key: q.kind !== 'fragment', themes: q.themes });
      }
    }
    const goldKeyQ = g.quotes.filter((q) => q.kind !== 'fragment');
    const pk = pred.filter((p) => p.key);
    const gk = goldKeyQ.map((q) => norm(q.text));
    const tp = multisetIntersect(gk, pk.map((p) => p.text));
    tpKey += tp; predKey += pk.length; goldKey += gk.length;
    tpSp += multisetIntersect(goldKeyQ.map((q) => `${norm(q.text)}\u0000${q.speaker}`), pk.map((p) => `${p.text}\u0000${p.speaker}`));
    tpAll += multisetIntersect(g.quotes.map((q) => norm(q.text)), pred.map((p) => p.text));
    predAll += pred.length; goldAll += g.quotes.length;
    for (const q of goldKeyQ) {
      if (q.themes.length === 0) continue;
      const p = pk.find((x) => x.text === norm(q.text));
      if (!p) continue;
      themeN++;
      if (p.themes.some((t) => q.themes.includes(t))) themeOk++;
    }
    if (withDetails) {
      const pkTexts = pk.map((p) => p.text);
      const missed = gk.filter((t) => !pkTexts.includes(t));
      const extra = pkTexts.filter((t) => !gk.includes(t));
      const wrongSpeaker = goldKeyQ
        .filter((q) => pk.some((p) => p.text === norm(q.text) && p.speaker !== q.speaker))
        .map((q) => `${q.speaker} ← ${pk.find((p) => p.text === norm(q.text))!.speaker}: ${norm(q.text).slice(0, 60)}`);
      details.push({ document: g.document, missed, extra, wrongSpeaker });
    }
  });

  // Counterpoints: the analyzer gives at most one per quote, so P@1 is the share of those that a gold pair backs.
  const goldPairs = golds.flatMap((g) => g.counterpoints.map((c) => ({ ...c, doc: g.document })));
  const quoteById = new Map(analysis.quotes.map((q) => [q.id, q]));
  const matchesQuote = (qid: string, prefix: string) => {
    const q = quoteById.get(qid);
    if (!q) return false;
    const p = norm(prefix);
    return q.citations.some((c) => norm(byItem.get(c.itemId)!.text.slice(c.start, c.end)).startsWith(p));
  };
  let cpOk = 0;
  const cpDetails: NonNullable<SetScore['counterpointDetails']> = [];
  for (const cp of analysis.counterpoints) {
    const gold = goldPairs.filter((g) => matchesQuote(cp.quoteId, g.quote));
    const text = byItem.get(cp.itemId)?.text ?? '';
    const ok = gold.some((g) => {
      for (let at = text.indexOf(g.counter); at !== -1; at = text.indexOf(g.counter, at + 1)) {
        const overlap = Math.min(cp.end, at + g.counter.length) - Math.max(cp.start, at);
        if (overlap >= 0.5 * g.counter.length) return true;
      }
      return false;
    });
    if (ok) cpOk++;
    if (withDetails) {
      const q = quoteById.get(cp.quoteId);
      cpDetails.push({ ok, quote: q?.text ?? cp.quoteId, counter: cp.text, speaker: cp.speaker, confidence: cp.confidence, reason: cp.reason });
    }
  }
  const goldQuotesWithCp = new Set(goldPairs.map((g) => `${g.doc}\u0000${norm(g.quote)}`));
  const cpRecall = goldQuotesWithCp.size ? Math.min(1, cpOk / goldQuotesWithCp.size) : 0;

  const shown = selectQuotes(analysis, cfg);
  const verbatim = shown.filter(
    (q) =>
      byItem.get(q.itemId)?.text.slice(q.start, q.end) === q.text &&
      q.citations.every((c) => byItem.get(c.itemId)?.text.slice(c.start, c.end) !== undefined && c.end <= (byItem.get(c.itemId)?.text.length ?? 0)),
  ).length;
  return {
    documents: golds.length,
    spans: prf(tpKey, predKey, goldKey),
    spansWithSpeaker: prf(tpSp, predKey, goldKey),
    allSpans: prf(tpAll, predAll, goldAll),
    themeAccuracy: themeN ? themeOk / themeN : 0,
    themeJudged: themeN,
    counterpointP1: analysis.counterpoints.length ? cpOk / analysis.counterpoints.length : 0,
    counterpointsPredicted: analysis.counterpoints.length,
    counterpointRecall: cpRecall,
    verbatimShown: shown.length ? verbatim / shown.length : 1,
    shown: shown.length,
    ...(withDetails
      ? {
          details,
          counterpointDetails: cpDetails,
          missedCounterpoints: goldPairs
            .filter((g) => !analysis.counterpoints.some((cp) => matchesQuote(cp.quoteId, g.quote)))
            .map(({ quote, counter, speaker }) => ({ quote, counter, speaker })),
        }
      : {}),
  };
}

export async function evaluateSet(
  dir: string,
  speakers: SpeakerConfig[],
  themes: ThemeConfig[],
  cfg: AnalyzeConfig,
  withDetails: boolean,
  trace?: AnalyzeOptions['traceCounterpoints'],
): Promise<SetScore | null> {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith('.gold.json')).sort();
  if (files.length === 0) return null;
  const golds = files.map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as GoldFile);
  const docs = await Promise.all(golds.map((g) => readDocument(g.document)));
  const items = golds.map((g, i) => itemFromGold(g, docs[i]!.text, docs[i]!.html, docs[i]!.author ?? null));
  const analysis = analyze(items, { themes, speakers, analyze: cfg, ...(trace ? { traceCounterpoints: trace } : {}) });
  return scoreSet(golds, analysis, items, cfg, withDetails);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
function printSet(name: string, s: SetScore | null, verbose: boolean): void {
  if (!s) {
    console.log(`${name}: no gold yet (nothing to score)`);
    return;
  }
  const row = (label: string, p: Prf) =>
    `  ${label.padEnd(22)} P ${pct(p.precision).padStart(6)}  R ${pct(p.recall).padStart(6)}  F1 ${pct(p.f1).padStart(6)}   (${p.tp} of ${p.predicted} predicted, ${p.gold} gold)`;
  console.log(`${name} (${s.documents} documents)`);
  console.log(row('key quote spans', s.spans));
  console.log(row('spans + speaker', s.spansWithSpeaker));
  console.log(row('all spans (+fragments)', s.allSpans));
  console.log(`  theme accuracy         ${pct(s.themeAccuracy)} of ${s.themeJudged} matched key quotes with gold themes`);
  console.log(`  counterpoint P@1       ${pct(s.counterpointP1)} of ${s.counterpointsPredicted} predicted (recall ${pct(s.counterpointRecall)})`);
  console.log(`  verbatim (shown)       ${pct(s.verbatimShown)} of ${s.shown} shown quotes`);
  if (verbose && s.details) {
    for (const d of s.details) {
      console.log(`  ── ${d.document}`);
      for (const m of d.missed) console.log(`     missed: ${m.slice(0, 100)}`);
      for (const m of d.extra) console.log(`     extra:  ${m.slice(0, 100)}`);
      for (const m of d.wrongSpeaker) console.log(`     speaker: ${m}`);
    }
    for (const c of s.counterpointDetails ?? []) {
      console.log(`  ${c.ok ? '✓' : '✗'} counter ${c.confidence.toFixed(2)} ${c.speaker ?? '(unnamed)'}: ${c.counter.slice(0, 90)}`);
      console.log(`      to: ${c.quote.slice(0, 90)}`);
    }
    for (const g of s.missedCounterpoints ?? []) console.log(`  · no counter for: ${g.quote.slice(0, 60)} ⇐ ${g.counter.slice(0, 60)}`);
  }
}

/** Speakers for a set: the shipped list plus the set's fictional people, shipped ids winning. */
function withExtra(speakers: SpeakerConfig[], file: string): SpeakerConfig[] {
  return existsSync(file) ? [...speakers, ...loadSpeakers(file).filter((s) => !speakers.some((k) => k.id === s.id))] : speakers;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const verbose = args.includes('--verbose');
  const tuningOnly = args.includes('--tuning-only');
  // `--trace <start of a claim>`: every candidate counterpoint for the claims that start so (tuning and dev only).
  const traceAt = args.indexOf('--trace');
  const tracePrefix = traceAt >= 0 ? args[traceAt + 1] ?? '' : null;
  const trace: AnalyzeOptions['traceCounterpoints'] =
    tracePrefix === null
      ? undefined
      : (claim, p, score, why) => {
          if (!claim.text.startsWith(tracePrefix)) return;
          console.log(`  [trace] ${score === null ? '   —' : score.toFixed(3)} ${p.speaker ?? '(unnamed)'} ${why}: ${p.text.slice(0, 100)}`);
        };
  const speakers = loadSpeakers(path.join(ROOT, 'sources/speakers.yaml'));
  const themes = loadThemes(path.join(ROOT, 'sources/themes.yaml'));
  const gold = (d: string) => path.join(ROOT, 'test/fixtures/gold', d);
  const tuning = await evaluateSet(gold('seeds'), speakers, themes, DEFAULT_ANALYZE, verbose, trace);
  // Dev sets (dev/, dev2/, …): more tuning text, each annotated by someone who did not read the analyzer, with
  // its own fictional speakers; details may be shown.
  const devNames = readdirSync(gold('.'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^dev\d*$/.test(d.name))
    .map((d) => d.name)
    .sort();
  const devs: Record<string, SetScore | null> = {};
  for (const name of devNames) devs[name] = await evaluateSet(gold(name), withExtra(speakers, gold(`${name}/speakers.yaml`)), themes, DEFAULT_ANALYZE, verbose, trace);
  // Held-out: aggregate figures only, never per-document detail, so it cannot steer tuning.
  // `--tuning-only` while tuning: the held-out figures are for the final report, not for steering.
  const heldout = tuningOnly ? null : await evaluateSet(gold('heldout'), withExtra(speakers, gold('speakers.extra.yaml')), themes, DEFAULT_ANALYZE, false);
  // Validation: like the held-out set, aggregates only and no trace.
  const validation = args.includes('--validation') ? await evaluateSet(gold('validation'), withExtra(speakers, gold('validation/speakers.yaml')), themes, DEFAULT_ANALYZE, false) : null;
  if (json) {
    console.log(JSON.stringify({ tuning, ...devs, validation, heldout }, null, 2));
    return;
  }
  printSet('tuning (seeds)', tuning, verbose);
  for (const [name, score] of Object.entries(devs)) if (score) printSet(`tuning (${name})`, score, verbose);
  if (validation) printSet('validation', validation, false);
  if (!tuningOnly) printSet('held-out', heldout, false);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    process.exit(1);
  });
}
