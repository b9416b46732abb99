import { DateTime } from 'luxon';
import type {
  Analysis, Config, Digest, DigestCounterpoint, DigestQuote, DigestSection, DigestSource, DigestSpeaker, Quote, SourceItem,
} from '../model.js';

/** Where an issue sits in time: its date in the configured zone and the schedule slot (ISO week) it fills. */
export function issueSlot(now: Date, timeZone: string): { date: string; slot: string } {
  const dt = DateTime.fromJSDate(now, { zone: timeZone });
  return { date: dt.toISODate() ?? dt.toFormat('yyyy-MM-dd'), slot: dt.toFormat("kkkk-'W'WW") };
}

// The fields of luxon's DATE_FULL, so subjects written before this formatter existed still match it.
const LONG_DATE: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'long', day: 'numeric' };
const LONG_DATE_FORMATS = new Map<string, Intl.DateTimeFormat | null>();

/** One Intl formatter per (language, zone): the archive dates hundreds of issues per build. null: unknown zone. */
function longDateFormat(language: string, timeZone: string): Intl.DateTimeFormat | null {
  const key = `${language}\u0000${timeZone}`;
  let fmt = LONG_DATE_FORMATS.get(key);
  if (fmt === undefined) {
    fmt = null;
    // A malformed language tag falls back to English rather than losing the date.
    for (const lang of [language, 'en']) {
      try {
        fmt = new Intl.DateTimeFormat(lang, { ...LONG_DATE, timeZone });
        break;
      } catch {
        // next
      }
    }
    LONG_DATE_FORMATS.set(key, fmt);
  }
  return fmt;
}

/**
 * The one way a date is written for people, everywhere: email heading and subject, plain-text part, web pages,
 * feed titles. The long date in the site's language ("November 30, 2026" in en, "30. November 2026" in de).
 * A bare yyyy-mm-dd is a calendar date already in the configured zone and is never shifted; a timestamp shows
 * the day it falls on in `timeZone` (one without an offset is read as wall time there). '' when unparseable.
 * Machine forms (ISO in <time datetime>, RFC 3339 in feeds, Date headers) are not written here.
 */
export function formatIssueDate(iso: string, timeZone: string, language = 'en'): string {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (day) {
    const at = new Date(0);
    // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
    at.setUTCFullYear(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    // Dates roll 2026-02-30 over into March: refuse it instead of printing another day.
    if (at.getUTCDate() !== Number(day[3]) || at.getUTCMonth() !== Number(day[2]) - 1) return '';
    return longDateFormat(language, 'UTC')?.format(at) ?? '';
  }
  const dt = DateTime.fromISO(iso, { zone: timeZone });
  return dt.isValid ? (longDateFormat(language, timeZone)?.format(dt.toJSDate()) ?? '') : '';
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
  /** The items this issue was made from: `stats.items` counts them. */
  items: SourceItem[];
  /** Items of earlier issues that quotes and counterpoints may also cite (looked up, not counted). */
  known?: SourceItem[];
  config: Config;
  number: number;
  now: Date;
}

/**
 * Arrange the selected quotes into an issue: one section per theme in themes.yaml order, each quote under its
 * first theme, each with the counterpoints analyze paired with it. Pure: `now` and `number` are given.
 */
export function composeDigest({ analysis, selected, items, known = [], config, number, now }: ComposeInput): Digest {
  const { date, slot } = issueSlot(now, config.site.timeZone);
  const itemById = new Map([...known, ...items].map((i) => [i.id, i]));
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
