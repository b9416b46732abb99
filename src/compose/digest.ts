import { DateTime } from 'luxon';
import type {
  Analysis, Config, Digest, DigestCounterpoint, DigestQuote, DigestSection, DigestSource, DigestSpeaker, Quote, SourceItem,
} from '../model.js';

/** Where an issue sits in time: its date in the configured zone and the schedule slot (ISO week) it fills. */
export function issueSlot(now: Date, timeZone: string): { date: string; slot: string } {
  const dt = DateTime.fromJSDate(now, { zone: timeZone });
  return { date: dt.toISODate() ?? dt.toFormat('yyyy-MM-dd'), slot: dt.toFormat("kkkk-'W'WW") };
}

/** Human date for subjects and titles, e.g. "30 November 2026". */
export function formatIssueDate(isoDate: string, timeZone: string, language = 'en'): string {
  return DateTime.fromISO(isoDate, { zone: timeZone }).setLocale(language).toLocaleString(DateTime.DATE_FULL);
}

/** Remove CR, LF and other control characters (header injection) and collapse spaces. */
export function cleanLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  const t = cleanLine(s);
  if (t.length <= max) return t;
  const cut = t.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}

export interface ComposeInput {
  analysis: Analysis;
  /** The quotes chosen for this issue, best first (analyze's selectQuotes). */
  selected: Quote[];
  items: SourceItem[];
  config: Config;
  number: number;
  now: Date;
}

/**
 * Arrange the selected quotes into an issue: one section per theme in themes.yaml order, each quote under its
 * first theme, each with the counterpoints analyze paired with it. Pure: `now` and `number` are given.
 */
export function composeDigest({ analysis, selected, items, config, number, now }: ComposeInput): Digest {
  const { date, slot } = issueSlot(now, config.site.timeZone);
  const itemById = new Map([...items].map((i) => [i.id, i]));
  const speakerById = new Map(config.speakers.map((s) => [s.id, s]));
  const themeOrder = new Map(config.themes.map((t, i) => [t.id, i]));
  const titleOf = (itemId: string, fallback: string) => itemById.get(itemId)?.title ?? fallback;
  const nameOf = (id: string | null) => (id ? speakerById.get(id)?.name ?? id : null);

  const counterBy = new Map<string, DigestCounterpoint[]>();
  for (const c of analysis.counterpoints) {
    const list = counterBy.get(c.quoteId) ?? [];
    list.push({ ...c, speakerName: nameOf(c.speaker), sourceTitle: titleOf(c.itemId, c.source) });
    counterBy.set(c.quoteId, list);
  }

  const sections = new Map<string, DigestSection>();
  const other: DigestSection = { themeId: 'other', title: 'Also said', description: 'Quotes that fit no theme of the debate.', quotes: [] };
  for (const q of selected) {
    const dq: DigestQuote = {
      ...q,
      speakerName: nameOf(q.speaker),
      sourceTitle: titleOf(q.itemId, q.source),
      counterpoints: (counterBy.get(q.id) ?? []).sort((a, b) => b.confidence - a.confidence).slice(0, 2),
    };
    const themeId = [...q.themes].sort((a, b) => (themeOrder.get(a) ?? 1e9) - (themeOrder.get(b) ?? 1e9))[0];
    const theme = themeId ? config.themes.find((t) => t.id === themeId) : undefined;
    if (!theme) {
      other.quotes.push(dq);
      continue;
    }
    const section = sections.get(theme.id) ?? { themeId: theme.id, title: theme.title, description: theme.description, quotes: [] };
    section.quotes.push(dq);
    sections.set(theme.id, section);
  }
  const ordered = [...sections.values()].sort((a, b) => (themeOrder.get(a.themeId) ?? 0) - (themeOrder.get(b.themeId) ?? 0));
  if (other.quotes.length) ordered.push(other);

  const shown = ordered.flatMap((s) => s.quotes);
  const citedItems = new Set<string>();
  for (const q of shown) {
    for (const c of q.citations) citedItems.add(c.itemId);
    citedItems.add(q.itemId);
    for (const c of q.counterpoints) citedItems.add(c.itemId);
  }
  const sources: DigestSource[] = [...citedItems]
    .map((id) => itemById.get(id))
    .filter((i): i is SourceItem => Boolean(i))
    .map((i) => ({ itemId: i.id, title: i.title, url: i.url, origin: i.origin, author: i.author, date: i.date }))
    .sort((a, b) => a.title.localeCompare(b.title));
  const speakerIds = new Set<string>();
  for (const q of shown) {
    if (q.speaker) speakerIds.add(q.speaker);
    for (const c of q.counterpoints) if (c.speaker) speakerIds.add(c.speaker);
  }
  const speakers: DigestSpeaker[] = [...speakerIds]
    .map((id) => speakerById.get(id))
    .filter((s): s is NonNullable<typeof s> => Boolean(s))
    .map((s) => ({ id: s.id, name: s.name, role: s.role }));

  const human = formatIssueDate(date, config.site.timeZone, config.site.language);
  const topThemes = ordered.filter((s) => s.themeId !== 'other').slice(0, 2).map((s) => s.title.toLowerCase());
  const counterpoints = shown.reduce((n, q) => n + q.counterpoints.length, 0);
  const lead = shown[0];
  const speakerCount = new Set(shown.map((q) => q.speaker).filter(Boolean)).size;
  return {
    schema: 1,
    id: `${date}-${number}`,
    number,
    date,
    slot,
    publishedAt: now.toISOString(),
    title: `Debate Digest #${number} · ${human}`,
    subject: cleanLine(`Debate Digest #${number} (${human})${topThemes.length ? `: ${topThemes.join(', ')}` : ''}`),
    preheader: lead ? truncate(`${lead.speakerName ? `${lead.speakerName}: ` : ''}“${lead.text}”`, 140) : 'This issue has no quotes.',
    intro:
      `${shown.length} key ${shown.length === 1 ? 'quote' : 'quotes'} from ${speakerCount} ${speakerCount === 1 ? 'speaker' : 'speakers'} ` +
      `across ${ordered.length} ${ordered.length === 1 ? 'theme' : 'themes'}, each verbatim from its source, ` +
      `with ${counterpoints} ${counterpoints === 1 ? 'counterpoint' : 'counterpoints'} from the other side.`,
    sections: ordered,
    sources,
    speakers,
    stats: { items: items.length, quotes: shown.length, themes: ordered.length, counterpoints, trimmed: 0 },
  };
}
