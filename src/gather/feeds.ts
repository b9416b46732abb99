import { createRequire } from 'node:module';
import RssParser from 'rss-parser';
import { Parser as HtmlParser } from 'htmlparser2';
import type { FeedConfig, Problem, SourceItem, Stance } from '../model.js';
import { fastFeedFields, type FeedFields, type ItemFields } from './fastfeed.js';
import { WHITESPACE_RUN, canonicalUrl, contentHashOf, itemIdOf, ledgerKeyOf } from './ledger.js';
import { htmlToText, sanitizeAndText, textToHtml } from './sanitize.js';

/**
 * Feed XML (already decoded to a string) to SourceItems. rss-parser does the format work (RSS 0.9x/1.0/2.0,
 * Atom), after a fast path (fastfeed.ts) that reads the common RSS 2.0 and Atom shapes in one scan and
 * leaves everything else to it; around them we add what it lacks for hostile input: entity declarations refused before parsing,
 * per-item date validation (rss-parser throws away a whole Atom feed over one bad date), fallbacks for
 * missing title/link/guid, and relative links resolved against xml:base, the feed's link or the URL the
 * feed was fetched from.
 */

export interface ParseFeedOptions {
  /** The feed's config: id, declared stance, speakers, primary. */
  feed?: Pick<FeedConfig, 'id' | 'stance' | 'speakers' | 'primary'>;
  /** The URL the bytes came from after redirects; base for relative links. */
  baseUrl?: string;
  /** At most this many items are read (the first ones: feeds list newest first). */
  maxItems?: number;
  /** Read the feed with rss-parser even when the fast path could (tests compare the two). */
  reference?: boolean;
}

export interface ParsedFeed {
  items: SourceItem[];
  problems: Problem[];
  /** Set when the feed as a whole could not be read (the problem is also in `problems`). */
  fatal: Problem | null;
  title: string | null;
}

const XML_PREDEFINED = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
const CDATA_SPLIT = /(<!\[CDATA\[[\s\S]*?\]\]>)/;
const entityCache = new Map<string, string | null>();

/** The character(s) an HTML named entity stands for, or null when HTML does not define it. */
function htmlEntity(name: string): string | null {
  const hit = entityCache.get(name);
  if (hit !== undefined) return hit;
  let out = '';
  const p = new HtmlParser({ ontext: (t) => { out += t; } }, { decodeEntities: true });
  p.write(`&${name};`);
  p.end();
  const value = out === `&${name};` ? null : out;
  if (entityCache.size < 2000) entityCache.set(name, value);
  return value;
}

/** Outside CDATA sections, apply `fn` to the text (CDATA is left as is). */
function outsideCdata(xml: string, fn: (chunk: string) => string): string {
  const parts = xml.split(CDATA_SPLIT);
  return parts.map((part, i) => (i % 2 === 1 ? part : fn(part))).join('');
}

/** Whether `<!ENTITY` (any case) occurs: a native search for `<!`, rarer than a case-insensitive regex scan. */
function mentionsEntityDeclaration(xml: string): boolean {
  for (let i = xml.indexOf('<!'); i !== -1; i = xml.indexOf('<!', i + 2)) {
    if (xml.slice(i + 2, i + 8).toUpperCase() === 'ENTITY') return true;
  }
  return false;
}

/** True when the document declares entities (billion laughs, external entities): we never expand those. */
export function declaresEntities(xml: string): boolean {
  // Splitting out CDATA sections costs a copy of the document: only when a declaration appears at all.
  if (!mentionsEntityDeclaration(xml)) return false;
  let found = false;
  outsideCdata(xml, (chunk) => {
    if (/<!ENTITY/i.test(chunk)) found = true;
    return chunk;
  });
  return found;
}

/** A named entity other than XML's five: only then is there anything for replaceHtmlEntities to do. */
const NON_XML_ENTITY = /&(?!(?:lt|gt|amp|quot|apos);)[A-Za-z][A-Za-z0-9]{1,31};/;

/**
 * Many real feeds use HTML entities (&nbsp; &mdash;) that XML does not define, which a strict XML parser
 * rejects. Replace the ones HTML knows by numeric references; leave unknown ones for the parser to report.
 */
function replaceHtmlEntities(xml: string): string {
  if (!NON_XML_ENTITY.test(xml)) return xml;
  return outsideCdata(xml, (chunk) =>
    chunk.replace(/&([A-Za-z][A-Za-z0-9]{1,31});/g, (m, name: string) => {
      if (XML_PREDEFINED.has(name)) return m;
      const ch = htmlEntity(name);
      if (ch === null) return m;
      return [...ch].map((c) => `&#${c.codePointAt(0)};`).join('');
    }),
  );
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return text(value[0]);
  if (value && typeof value === 'object' && typeof (value as { _?: unknown })._ === 'string') return (value as { _: string })._;
  return null;
}

function attr(node: unknown, name: string): string | null {
  if (node && typeof node === 'object') {
    const a = (node as { $?: Record<string, unknown> }).$;
    const v = a?.[name];
    return typeof v === 'string' ? v : null;
  }
  return null;
}

/** An absolute http(s) URL: the base cannot change it (scheme, then the two slashes of an authority). */
const ABSOLUTE_HTTP = /^https?:\/\//i;

export function resolve(raw: string | null | undefined, base: string | null): string | null {
  if (!raw) return null;
  const trimmed = raw.trim();
  try {
    // Most links are absolute: then parsing the base as well (every item) is work for nothing.
    const u = base && !ABSOLUTE_HTTP.test(trimmed) ? new URL(trimmed, base) : new URL(trimmed);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** Month abbreviations seen in RFC 822 dates written by non-English feed software (pt, es, fr, de, it, nl). */
const MONTHS: Record<string, number> = {
  jan: 0, ene: 0, janv: 0, gen: 0, jän: 0, feb: 1, fev: 1, fév: 1, févr: 1, mar: 2, mär: 2, mrt: 2, mars: 2, abr: 3, apr: 3, avr: 3,
  mai: 4, may: 4, mei: 4, mag: 4, jun: 5, juin: 5, giu: 5, jul: 6, juil: 6, lug: 6, ago: 7, aug: 7, aoû: 7, août: 7,
  set: 8, sep: 8, sept: 8, out: 9, oct: 9, okt: 9, ott: 9, nov: 10, dez: 11, dic: 11, dec: 11, déc: 11,
};

/** RFC 822 with a localized month name, e.g. "Seg, 24 Set 2018 19:42:40 -0300" (which Date cannot read). */
function parseLocalizedRfc822(raw: string): Date | null {
  const m = /^(?:[^\s,\d]+,?\s+)?(\d{1,2})\s+([^\s\d.]+)\.?\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([+-])(\d{2}):?(\d{2})|GMT|UTC|Z)?$/i.exec(raw);
  if (!m) return null;
  const month = MONTHS[m[2]!.toLowerCase()];
  if (month === undefined) return null;
  let year = Number(m[3]);
  if (year < 100) year += year < 50 ? 2000 : 1900;
  const offset = m[7] ? (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) : 0;
  const t = Date.UTC(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - offset * 60_000;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A feed URL's user:password must not leak into the links resolved against it. */
function withoutCredentials(url: string | null): string | null {
  if (url === null) return null;
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

export function parseItemDate(raw: string | null): { date: string | null; dateProblem: 'missing' | 'invalid' | null } {
  if (raw === null || raw.trim() === '') return { date: null, dateProblem: 'missing' };
  let d: Date | null = new Date(raw.trim());
  if (Number.isNaN(d.getTime())) d = parseLocalizedRfc822(raw.trim());
  if (d === null || Number.isNaN(d.getTime())) return { date: null, dateProblem: 'invalid' };
  return { date: d.toISOString(), dateProblem: null };
}

interface RawExtra {
  date: string | null;
  base: string | null;
}

type AnyRecord = Record<string, unknown>;

/** rss-parser's own helper that turns a content node into a string (text, or XML rebuilt from child nodes). */
const { getContent } = createRequire(import.meta.url)('rss-parser/lib/utils.js') as { getContent: (node: unknown) => unknown };

/** rss-parser's item fields without `includeSnippet`: it strips and decodes every body for a snippet we never read. */
const strippedFields = new WeakMap<object, unknown>();
function withoutSnippets(fields: unknown): unknown {
  if (!Array.isArray(fields)) return fields;
  const hit = strippedFields.get(fields);
  if (hit !== undefined) return hit;
  const out = fields.map((f: unknown) => (Array.isArray(f) && f.length > 2 && (f[2] as { includeSnippet?: boolean } | undefined)?.includeSnippet ? [f[0], f[1]] : f));
  strippedFields.set(fields, out);
  return out;
}

/** A parser whose Atom entries no longer reject the whole feed on a bad date, and which keeps xml:base. */
function makeParser(extras: WeakMap<object, RawExtra>, feedInfo: { base: string | null }): RssParser {
  const parser = new RssParser({ xml2js: { strict: true }, defaultRSS: 2 });
  const p = parser as unknown as Record<string, (...args: unknown[]) => unknown>;
  const origAtomItem = p.parseItemAtom!.bind(parser);
  const origRssItem = p.parseItemRss!.bind(parser);
  const origAtomFeed = p.buildAtomFeed!.bind(parser);
  const origRss = p.buildRSS!.bind(parser);
  p.parseItemAtom = (entry: unknown) => {
    const e = entry as AnyRecord;
    const raw = text(e.published) ?? text(e.updated);
    // content is set here rather than by rss-parser, which would also make an unused snippet of it.
    const { published: _p, updated: _u, content, ...rest } = e;
    const item = origAtomItem(rest) as AnyRecord;
    if (Array.isArray(content) && content.length) item.content = getContent(content[0]);
    extras.set(item, { date: raw, base: attr(e, 'xml:base') });
    return item;
  };
  p.parseItemRss = (xmlItem: unknown, fields: unknown) => {
    // As for Atom: description becomes content here, without rss-parser's snippet.
    const { description, ...rest } = xmlItem as AnyRecord;
    const item = origRssItem(rest, withoutSnippets(fields)) as AnyRecord;
    if (description) item.content = getContent((description as unknown[])[0]);
    extras.set(item, { date: text(item.pubDate) ?? text(item.date), base: attr(xmlItem, 'xml:base') });
    return item;
  };
  p.buildAtomFeed = (xmlObj: unknown) => {
    feedInfo.base = attr((xmlObj as AnyRecord).feed, 'xml:base');
    return origAtomFeed(xmlObj);
  };
  p.buildRSS = (channel: unknown, items: unknown) => {
    feedInfo.base = attr(channel, 'xml:base');
    return origRss(channel, items);
  };
  return parser;
}

/** How many feeds this thread read on the fast path, and how many with rss-parser (tests, the benchmark). */
export const feedPathStats = { fast: 0, reference: 0 };

/**
 * The fields gather reads from feed XML (no byte-order mark, entity declarations already refused): from the
 * fast path when it takes the feed, else (or when `reference` is set) from rss-parser, whose error it throws
 * for a feed that cannot be read. `fast` says which answered.
 */
export async function feedFieldsOf(xml: string, reference = false): Promise<{ fields: FeedFields; fast: boolean }> {
  const prepared = replaceHtmlEntities(xml);
  const fast = reference ? null : fastFeedFields(prepared);
  if (fast !== null) {
    feedPathStats.fast++;
    return { fields: fast, fast: true };
  }
  feedPathStats.reference++;
  return { fields: await referenceFeedFields(prepared), fast: false };
}

/**
 * The fields gather reads, through rss-parser: the reference the fast path must agree with, and the reader
 * of every feed it does not take. Throws rss-parser's error for a feed it cannot read.
 */
async function referenceFeedFields(xml: string): Promise<FeedFields> {
  const extras = new WeakMap<object, RawExtra>();
  const feedInfo: { base: string | null } = { base: null };
  const feed = (await makeParser(extras, feedInfo).parseString(xml)) as unknown as AnyRecord;
  const rawItems = Array.isArray(feed.items) ? (feed.items as AnyRecord[]) : [];
  const items = rawItems.map((raw): ItemFields => {
    const extra = extras.get(raw) ?? { date: null, base: null };
    return {
      guid: text(raw.guid) ?? text(raw.id) ?? text(raw['rdf:about']),
      link: text(raw.link),
      content: text(raw['content:encoded']) ?? text(raw.content) ?? text(raw.summary) ?? text((raw.itunes as AnyRecord | undefined)?.summary) ?? '',
      title: text(raw.title),
      author: text(raw.creator) ?? text(raw.author) ?? text(raw['dc:creator']),
      date: extra.date,
      base: extra.base,
    };
  });
  return { title: text(feed.title), link: text(feed.link), base: feedInfo.base, items };
}

function firstLine(s: string): string | null {
  for (const line of s.split('\n')) {
    const t = line.trim();
    if (t) return t.length > 140 ? t.slice(0, 139) + '…' : t;
  }
  return null;
}

/** Parse feed XML into items. Never throws: a feed that cannot be read is a `fatal` problem. */
export async function parseFeed(xml: string, origin: string, opts: ParseFeedOptions = {}): Promise<ParsedFeed> {
  const problems: Problem[] = [];
  const fail = (code: string, message: string, hint: string): ParsedFeed => {
    const pr = { code, origin, message, hint };
    return { items: [], problems: [pr], fatal: pr, title: null };
  };
  const src = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  if (declaresEntities(src)) {
    return fail('FEED_ENTITY_REJECTED', 'the feed declares XML entities (<!ENTITY …>); refused unparsed, as entity expansion is a known attack (billion laughs, external entities)',
      'ask the publisher to remove the DOCTYPE/ENTITY declarations, or remove this feed from sources/feeds.yaml');
  }
  if (src.trim() === '') return fail('FEED_PARSE_FAILED', 'the feed is empty', 'check the URL in a browser; it should show RSS or Atom XML');
  let feed: FeedFields;
  try {
    feed = (await feedFieldsOf(src, opts.reference)).fields;
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 3).join(' ');
    return fail('FEED_PARSE_FAILED', `the feed is not well-formed RSS, Atom or RDF: ${msg}`,
      'check the URL in a browser (it may be an HTML page, not a feed) or validate the feed; the other sources are still gathered');
  }

  const docUrl = withoutCredentials(resolve(opts.baseUrl ?? origin, null));
  const feedLink = resolve(feed.link, docUrl);
  const base = resolve(feed.base, docUrl) ?? feedLink ?? docUrl;
  const rawItems = feed.items;
  const max = opts.maxItems ?? Infinity;
  if (rawItems.length > max) {
    problems.push({ code: 'FEED_ITEMS_CAPPED', origin, message: `the feed has ${rawItems.length} items; only the first ${max} were read`, hint: 'raise gather.maxItemsPerFeed if older items matter' });
  }
  const items: SourceItem[] = [];
  let invalidDates = 0;
  for (const raw of rawItems.slice(0, max)) {
    const itemBase = resolve(raw.base, base) ?? base;
    const guid = raw.guid?.trim() || null;
    let link = resolve(raw.link, itemBase);
    // An RSS guid is a permalink unless it says otherwise; a URL-shaped id is the best link we have.
    if (!link && guid && /^https?:\/\//i.test(guid)) link = resolve(guid, null);
    const url = link ? canonicalUrl(link) : null;
    const contentHtml = raw.content;
    let html = '';
    let body = '';
    if (contentHtml.includes('<')) {
      ({ html, text: body } = sanitizeAndText(contentHtml, itemBase ?? undefined));
    } else if (contentHtml) {
      // Plain text (perhaps with entities): no markup to sanitize, and sanitize-html costs ~0.1 ms a call.
      body = htmlToText(contentHtml);
      html = textToHtml(body);
    }
    const rawTitle = raw.title;
    // WHITESPACE_RUN: the same as /\s+/g → ' ', without replacing each lone space by itself.
    const titleText = !rawTitle ? '' : /[<&]/.test(rawTitle) ? htmlToText(rawTitle).replace(WHITESPACE_RUN, ' ').trim() : rawTitle.replace(WHITESPACE_RUN, ' ').trim();
    const title = titleText || firstLine(body) || url || guid || '(untitled)';
    const author = raw.author?.trim() || null;
    const { date, dateProblem } = parseItemDate(raw.date);
    if (dateProblem === 'invalid') invalidDates++;
    const contentHash = contentHashOf(body);
    const key = ledgerKeyOf({ url, guid, title, text: body, contentHash });
    const stance: Stance | null = opts.feed ? opts.feed.stance : null;
    items.push({
      id: itemIdOf(key),
      kind: 'feed',
      sourceId: opts.feed?.id ?? origin,
      origin,
      url,
      links: url ? [url] : [],
      guid,
      title,
      author,
      date,
      dateProblem,
      speakers: opts.feed ? [...opts.feed.speakers] : [],
      stance,
      primary: opts.feed?.primary ?? false,
      text: body,
      html: html || null,
      contentHash,
    });
  }
  if (invalidDates > 0) {
    problems.push({ code: 'FEED_DATE_INVALID', origin, message: `${invalidDates} item(s) have a date that does not parse; they are kept without a date`, hint: 'nothing to do unless the publisher can fix the feed; such items are never dropped by the backfill window' });
  }
  const feedTitle = feed.title;
  return { items, problems, fatal: null, title: feedTitle ? feedTitle.trim() : null };
}
