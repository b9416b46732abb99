/**
 * The web archive: every issue record in digests/ becomes pages (home, issue, theme, speaker, subscribe, search,
 * 404), an Atom and a JSON feed, a sitemap and a Pagefind search index, built by Eleventy 3 from the Nunjucks
 * templates in templates/site/.
 *
 * The pure part (`parseDigestRecord`, `toArchiveModel`, `paginate`, `renderFeeds`, `renderSitemap`) turns
 * records into a view model and feed text; templates only lay that model out, so every URL, date and
 * title is decided here and can be tested without Eleventy. `buildSite` is the I/O edge: it reads the records,
 * runs Eleventy programmatically, indexes the output with Pagefind and keeps a manifest for incremental builds.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatIssueDate } from '../compose/digest.js';
import { DigestError } from '../errors.js';
import type { Config, Digest, DigestCounterpoint, DigestQuote, Stance } from '../model.js';
import { escapeHtml, safeUrl, XML_INVALID } from './helpers.js';

/** The project root (where .eleventy.js and templates/ live), found from this file so cwd does not matter. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_DIR = path.join(PROJECT_ROOT, 'templates', 'site');
const ELEVENTY_CONFIG = path.join(PROJECT_ROOT, '.eleventy.js');

/** Only these file names in digests/ are issue records (seen.json, sends/ and anything else are not). */
export const RECORD_FILE = /^\d{4}-\d{2}-\d{2}-\d+\.json$/;
/** Issues carried in full in each feed. */
export const FEED_ISSUES = 20;
/** Feeds stay under this size (bytes); past it, entry content is trimmed to fewer quotes. */
export const FEED_MAX_BYTES = 500 * 1024;
/** Written into the output folder; lists what we produced and what each page was built from. */
export const MANIFEST_FILE = '.digest-site.json';
/** Bump when the view model or page set changes shape: a manifest from another version forces a full build. */
const MODEL_VERSION = 5;
/**
 * Issues per theme or speaker page. Twenty, as in the feeds (FEED_ISSUES): with the weekly schedule a page is
 * about five months, so a 500-issue theme or speaker is 25 pages, few enough to list by number. At most 24
 * quotes an issue (config's analyze.maxQuotes) keeps a page at a few hundred KB at worst instead of megabytes.
 * Counted in issues, not quotes, so an issue's quotes stay together under its heading and every page is whole
 * issues.
 */
export const PAGE_ISSUES = 20;

// ───────────────────────────── small pure helpers ─────────────────────────────

/** An http(s) URL fit for an href, else null: `javascript:`, `data:` and relative junk never become links. */
export function safeHref(raw: string | null | undefined): string | null {
  // The email's URL check (controls, schemes, hosts), narrowed to the web: no mailto: links from records.
  const url = safeUrl(raw);
  return /^https?:/.test(url) ? url : null;
}

/** A path segment safe in a URL and an id attribute; ids in records are slugs already, this is a guard. */
function slug(id: string): string {
  const s = id.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return s || 'x';
}

/** The id attribute of a quote on its issue page (the part after `#`). */
export function quoteAnchor(quoteId: string): string {
  return `q-${quoteId.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** "/" or "/debate-digest/": always leading and trailing slash. */
export function normalizeBasePath(basePath: string): string {
  const inner = basePath.trim().replace(/^\/+|\/+$/g, '');
  return inner ? `/${inner}/` : '/';
}

/** Absolute URL of the archive root, e.g. https://user.github.io/debate-digest/ (with trailing slash). */
export function siteRoot(config: Config): string {
  const origin = config.site.url.trim().replace(/\/+$/, '');
  return origin + normalizeBasePath(config.site.basePath);
}

/** Absolute URL of a root-relative site path ("/issues/x/"). */
function absoluteUrl(config: Config, sitePath: string): string {
  return siteRoot(config) + sitePath.replace(/^\/+/, '');
}

/** Absolute URL of an issue page (the email's "web version" link). */
export function issueUrl(config: Config, digestId: string): string {
  // An empty id means the archive itself (the home page lists every issue): the email's "archive" link.
  return digestId ? absoluteUrl(config, `/issues/${slug(digestId)}/`) : siteRoot(config);
}

/** Host (and path, if any) for tag: URIs; tag URIs forbid ports, so the port is dropped. */
function tagAuthority(config: Config): { host: string; prefix: string } {
  try {
    const url = new URL(siteRoot(config));
    const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
    return { host: url.hostname, prefix: prefix ? `${prefix}/` : '' };
  } catch {
    return { host: 'localhost', prefix: '' };
  }
}

/** Feed entry id: `tag:<host>,<issue date>:<base path>issue-<n>`; depends only on config and the record. */
export function entryId(config: Config, digest: Pick<Digest, 'date' | 'number'>): string {
  const { host, prefix } = tagAuthority(config);
  return `tag:${host},${digest.date}:${prefix}issue-${digest.number}`;
}

/** "November 30, 2026" from "2026-11-30", in the site's language: compose's formatIssueDate, as in the email. */
export function formatDate(isoDate: string, language = 'en'): string {
  // A calendar date is never shifted by the zone, so the archive needs none.
  return formatIssueDate(isoDate, 'UTC', language) || isoDate;
}

/** "Issue 3 · November 30, 2026: title": the page title and the feed entry title. */
export function issueTitle(digest: Pick<Digest, 'number' | 'date' | 'title'>, language = 'en'): string {
  const head = `Issue ${digest.number} · ${formatDate(digest.date, language)}`;
  const title = digest.title.trim();
  return title ? `${head}: ${title}` : head;
}

function rfc3339(iso: string): string {
  return new Date(iso).toISOString().replace(/\.000Z$/, 'Z');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ───────────────────────────── records ─────────────────────────────

type Json = Record<string, unknown>;

function invalid(origin: string, where: string, problem: string): DigestError {
  return new DigestError('RECORD_INVALID', `${where}: ${problem}`, {
    origin,
    hint: 'Digest records are written by `digest run`; restore this file from git, or delete it to drop the issue from the archive.',
  });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse and check one record (the text of digests/<id>.json). Only what the archive relies on is checked, but
 * all of it, so a hand-edited record fails here with the field's path instead of deep inside a template.
 */
export function parseDigestRecord(text: string, origin: string): Digest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid(origin, 'record', `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(data)) throw invalid(origin, 'record', 'expected a JSON object');
  const str = (obj: Json, key: string, where: string, nullable = false): void => {
    const v = obj[key];
    if (typeof v === 'string') return;
    if (nullable && v === null) return;
    throw invalid(origin, `${where}${key}`, `expected a string${nullable ? ' or null' : ''}, got ${JSON.stringify(v) ?? 'nothing'}`);
  };
  const arr = (obj: Json, key: string, where: string): unknown[] => {
    const v = obj[key];
    if (!Array.isArray(v)) throw invalid(origin, `${where}${key}`, 'expected an array');
    return v;
  };
  if (data.schema !== 1) throw invalid(origin, 'schema', `expected 1, got ${JSON.stringify(data.schema)}`);
  // slot keys one issue per schedule slot (pipeline.ts): a record without one could be made twice.
  for (const key of ['id', 'date', 'slot', 'publishedAt', 'title', 'subject', 'preheader', 'intro']) str(data, key, '');
  const expectedId = path.basename(origin).replace(/\.json$/, '');
  if (RECORD_FILE.test(path.basename(origin)) && data.id !== expectedId) {
    throw invalid(origin, 'id', `"${String(data.id)}" does not match the file name (${expectedId})`);
  }
  if (!Number.isInteger(data.number) || (data.number as number) < 1) throw invalid(origin, 'number', 'expected a positive integer');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(data.date as string) || Number.isNaN(Date.parse(`${data.date as string}T00:00:00Z`))) {
    throw invalid(origin, 'date', 'expected yyyy-mm-dd');
  }
  if (Number.isNaN(Date.parse(data.publishedAt as string))) throw invalid(origin, 'publishedAt', 'expected an ISO 8601 timestamp');
  arr(data, 'sections', '').forEach((section, si) => {
    const sw = `sections[${si}].`;
    if (!isObject(section)) throw invalid(origin, `sections[${si}]`, 'expected an object');
    for (const key of ['themeId', 'title', 'description']) str(section, key, sw);
    arr(section, 'quotes', sw).forEach((quote, qi) => {
      const qw = `${sw}quotes[${qi}].`;
      if (!isObject(quote)) throw invalid(origin, `${sw}quotes[${qi}]`, 'expected an object');
      for (const key of ['id', 'text', 'sourceTitle', 'stance', 'status']) str(quote, key, qw);
      for (const key of ['speaker', 'speakerName', 'url']) str(quote, key, qw, true);
      if (!arr(quote, 'themes', qw).every((t) => typeof t === 'string')) throw invalid(origin, `${qw}themes`, 'expected strings');
      arr(quote, 'counterpoints', qw).forEach((cp, ci) => {
        const cw = `${qw}counterpoints[${ci}].`;
        if (!isObject(cp)) throw invalid(origin, `${qw}counterpoints[${ci}]`, 'expected an object');
        for (const key of ['text', 'sourceTitle', 'reason', 'stance']) str(cp, key, cw);
        for (const key of ['speaker', 'speakerName', 'url', 'counterQuoteId']) str(cp, key, cw, true);
      });
    });
  });
  arr(data, 'sources', '').forEach((src, i) => {
    if (!isObject(src)) throw invalid(origin, `sources[${i}]`, 'expected an object');
    str(src, 'title', `sources[${i}].`);
    str(src, 'url', `sources[${i}].`, true);
  });
  arr(data, 'speakers', '').forEach((sp, i) => {
    if (!isObject(sp)) throw invalid(origin, `speakers[${i}]`, 'expected an object');
    for (const key of ['id', 'name', 'role']) str(sp, key, `speakers[${i}].`);
  });
  return data as unknown as Digest;
}

/** The issue records in a digests/ folder, oldest first, with the hash of each file's text. */
export async function readDigestRecords(digestsDir: string): Promise<{ digests: Digest[]; hashes: Record<string, string> }> {
  let names: string[];
  try {
    names = await readdir(digestsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { digests: [], hashes: {} };
    throw err;
  }
  const digests: Digest[] = [];
  const hashes: Record<string, string> = {};
  for (const name of names.filter((n) => RECORD_FILE.test(n)).sort()) {
    const file = path.join(digestsDir, name);
    const text = await readFile(file, 'utf8');
    const digest = parseDigestRecord(text, file);
    digests.push(digest);
    hashes[digest.id] = sha256(text);
  }
  return { digests: sortIssues(digests).reverse(), hashes };
}

/** Newest first: by date, then number. */
function sortIssues(digests: Digest[]): Digest[] {
  return [...digests].sort(newestFirst);
}

function newestFirst(a: Pick<Digest, 'date' | 'number'>, b: Pick<Digest, 'date' | 'number'>): number {
  return a.date === b.date ? b.number - a.number : a.date < b.date ? 1 : -1;
}

// ───────────────────────────── the view model the templates lay out ─────────────────────────────

export interface Link {
  id: string;
  title: string;
  href: string;
}

export interface ViewCounterpoint {
  text: string;
  speakerId: string | null;
  speakerName: string | null;
  speakerHref: string | null;
  sourceTitle: string;
  sourceHref: string | null;
  stance: Stance;
  stanceLabel: string;
  reason: string;
  /** Link to the answering quote's own anchor when it is one in the archive. */
  counterQuoteHref: string | null;
}

export interface ViewQuote {
  id: string;
  anchor: string;
  text: string;
  speakerId: string | null;
  speakerName: string | null;
  speakerHref: string | null;
  /** Heading shown above the quote: the speaker's name, or "Unattributed". */
  heading: string;
  sourceTitle: string;
  sourceHref: string | null;
  stance: Stance;
  stanceLabel: string;
  statusLabel: string;
  themes: Link[];
  /** Root-relative link to the quote on its issue page. */
  href: string;
  issue: { id: string; number: number; date: string; dateLabel: string; title: string; href: string };
  counterpoints: ViewCounterpoint[];
}

export interface ViewSection {
  themeId: string;
  title: string;
  description: string;
  href: string;
  quotes: ViewQuote[];
}

export interface ViewIssue {
  id: string;
  number: number;
  date: string;
  dateLabel: string;
  title: string;
  /** "Issue 3 · November 30, 2026: title" */
  fullTitle: string;
  description: string;
  intro: string;
  href: string;
  absUrl: string;
  publishedAt: string;
  sections: ViewSection[];
  sources: { title: string; href: string | null; author: string | null }[];
  speakers: Link[];
  quoteCount: number;
  prev: { href: string; title: string } | null;
  next: { href: string; title: string } | null;
}

export interface ViewGroup {
  issue: ViewQuote['issue'];
  quotes: ViewQuote[];
}

/** A counterpoint a speaker gave, with the quote it answers. */
export interface ViewCounter {
  counterpoint: ViewCounterpoint;
  answers: ViewQuote;
}

export interface ViewTheme {
  id: string;
  slug: string;
  title: string;
  description: string;
  /** Its first page, `/themes/<slug>/`: where every link to the theme goes. */
  href: string;
  count: number;
  /** Quotes newest first, grouped by issue. */
  groups: ViewGroup[];
  lastmod: string | null;
  /** The groups split into pages of `PAGE_ISSUES` issues: the entry page, then full pages numbered from the oldest (see paginate). */
  pages: ViewThemePage[];
}

/** A link to another page of the same theme or speaker. */
export interface PageLink {
  /** The page's number, or null for the entry page (the list's own URL, "Newest"). */
  number: number | null;
  label: string;
  href: string;
}

/**
 * One page of a theme's or a speaker's quotes (see paginate): the entry page `<href>` (the newest issues), a
 * full page `<href>page/<n>/` (numbered from the oldest, never changed once written), or the redirect written at
 * the next number until it fills. Holds only what that page shows, so its fingerprint (planIncremental) changes
 * exactly when the page does; a full page holds nothing that depends on the pages after it.
 */
export interface ListPage<G> {
  kind: 'entry' | 'full' | 'next';
  /** Null for the entry page. */
  number: number | null;
  href: string;
  /** Output path under the site, without the base path: Eleventy's permalink. */
  permalink: string;
  /** Which of the list's issues the page holds, counted from the oldest (1-based); 0 and 0 on a redirect. */
  first: number;
  last: number;
  /** Whole issues, newest first. */
  groups: G[];
  /** The page before (newer quotes, rel="prev") and after (older quotes, rel="next"); null at either end. */
  newer: PageLink | null;
  older: PageLink | null;
  /** The pager, newest first: the entry page, the highest number, the current one's neighbours and 1; null where a gap is; empty with one page. */
  numbers: (PageLink | null)[];
  /** On a 'next' page: where it sends the reader (the entry page); null otherwise. */
  redirect: string | null;
  /** The date range the page covers ("March 6, 2017" to "July 17, 2017"), for the page's summary line. */
  from: string;
  to: string;
  lastmod: string | null;
}

export interface ViewThemePage extends ListPage<ViewGroup> {
  theme: { id: string; slug: string; title: string; description: string; href: string };
  /** Shown on the entry page only: they change with every issue, and full pages must not. */
  totals: { quotes: number; issues: number } | null;
}

export interface ViewSpeakerPage extends ListPage<ViewGroup> {
  speaker: { id: string; slug: string; name: string; role: string; href: string };
  /** The counterpoints they gave in this page's issues, newest first. */
  counters: ViewCounter[];
  /** Shown on the entry page only, as on theme pages. */
  totals: { quotes: number; counterpoints: number } | null;
}

export interface ViewSpeaker {
  id: string;
  slug: string;
  name: string;
  role: string;
  /** Its first page, `/speakers/<slug>/`: where every link to the speaker goes. */
  href: string;
  count: number;
  groups: ViewGroup[];
  /** Counterpoints they gave, newest first. */
  counters: ViewCounter[];
  lastmod: string | null;
  /** Their quotes and counterpoints split into pages of `PAGE_ISSUES` issues, as themes are (see paginateSpeaker). */
  pages: ViewSpeakerPage[];
}

export interface ArchiveModel {
  site: {
    title: string;
    description: string;
    language: string;
    author: string;
    /** Absolute root with trailing slash: https://host/base/ */
    root: string;
    /** Absolute root without the trailing slash, for `root + page.url`. */
    rootNoSlash: string;
    basePath: string;
    feedAtomUrl: string;
    feedJsonUrl: string;
    subscribeUrl: string | null;
  };
  issues: ViewIssue[];
  latest: ViewIssue | null;
  themes: ViewTheme[];
  speakers: ViewSpeaker[];
  /** The subsets to write this build (all of them, except in an incremental build); themes and speakers by page. */
  render: { issues: ViewIssue[]; themes: ViewThemePage[]; speakers: ViewSpeakerPage[] };
  atom: string;
  jsonFeed: string;
  sitemap: string;
}

const STANCE_LABELS: Record<Stance, string> = {
  research: 'Age of research',
  scaling: 'Scaling still works',
  paradigm: 'New paradigm needed',
  neutral: 'Neutral',
};
const STATUS_LABELS: Record<string, string> = {
  verified: 'Verified against the primary source',
  corroborated: 'Found in more than one source',
  'single-source': 'Single source',
  paraphrase: 'Paraphrase',
};

function stanceLabel(stance: string): string {
  return STANCE_LABELS[stance as Stance] ?? stance;
}

/** Build the whole view model from records (any order) and config. Pure: no clock, no files. */
export function toArchiveModel(records: Digest[], config: Config, options: { pageIssues?: number } = {}): ArchiveModel {
  const language = config.site.language || 'en';
  const digests = sortIssues(records);
  const themeTitle = new Map<string, { title: string; description: string }>();
  for (const t of config.themes) themeTitle.set(t.id, { title: t.title, description: t.description });
  for (const d of digests) for (const s of d.sections) if (!themeTitle.has(s.themeId)) themeTitle.set(s.themeId, { title: s.title, description: s.description });
  const speakerInfo = new Map<string, { name: string; role: string }>();
  for (const s of config.speakers) speakerInfo.set(s.id, { name: s.name, role: s.role });
  for (const d of digests) for (const s of d.speakers) if (!speakerInfo.has(s.id)) speakerInfo.set(s.id, { name: s.name, role: s.role });

  // Links carry the base path already: prefixing ~80 links a page in TS is free, while Eleventy's `url` filter
  // (~65 µs a call) or HtmlBasePlugin (re-parsing every page) took a third of a 500-issue build. Templates
  // still send their own fixed links through `url`.
  const basePath = normalizeBasePath(config.site.basePath);
  const link = (sitePath: string): string => basePath + sitePath.replace(/^\/+/, '');
  const themeHref = (id: string): string => link(`/themes/${slug(id)}/`);
  const speakerHref = (id: string | null): string | null => (id && speakerInfo.has(id) ? link(`/speakers/${slug(id)}/`) : null);

  // Where each quote lives, so a counterpoint that is itself a quote can link to it.
  const quoteHome = new Map<string, string>();
  for (const d of [...digests].reverse()) {
    for (const s of d.sections) for (const q of s.quotes) if (!quoteHome.has(q.id)) quoteHome.set(q.id, link(`/issues/${slug(d.id)}/#${quoteAnchor(q.id)}`));
  }

  const viewCounterpoint = (c: DigestCounterpoint): ViewCounterpoint => ({
    text: c.text,
    speakerId: c.speakerName ? c.speaker : null,
    speakerName: c.speakerName,
    speakerHref: c.speakerName ? speakerHref(c.speaker) : null,
    sourceTitle: c.sourceTitle,
    sourceHref: safeHref(c.url),
    stance: c.stance,
    stanceLabel: stanceLabel(c.stance),
    reason: c.reason,
    counterQuoteHref: c.counterQuoteId ? (quoteHome.get(c.counterQuoteId) ?? null) : null,
  });

  const themes = new Map<string, ViewTheme>();
  const speakers = new Map<string, ViewSpeaker>();
  const themeOf = (id: string): ViewTheme => {
    let t = themes.get(id);
    if (!t) {
      const info = themeTitle.get(id) ?? { title: id, description: '' };
      t = { id, slug: slug(id), title: info.title, description: info.description, href: themeHref(id), count: 0, groups: [], lastmod: null, pages: [] };
      themes.set(id, t);
    }
    return t;
  };
  const speakerOf = (id: string): ViewSpeaker => {
    let s = speakers.get(id);
    if (!s) {
      const info = speakerInfo.get(id) ?? { name: id, role: '' };
      s = { id, slug: slug(id), name: info.name, role: info.role, href: link(`/speakers/${slug(id)}/`), count: 0, groups: [], counters: [], lastmod: null, pages: [] };
      speakers.set(id, s);
    }
    return s;
  };
  const addToGroup = (groups: ViewGroup[], q: ViewQuote): void => {
    const last = groups[groups.length - 1];
    if (last && last.issue.id === q.issue.id) {
      if (!last.quotes.some((x) => x.id === q.id)) last.quotes.push(q);
    } else groups.push({ issue: q.issue, quotes: [q] });
  };
  // Config order first, so theme and speaker lists read as the config author intended.
  for (const t of config.themes) themeOf(t.id);

  const issues: ViewIssue[] = digests.map((d) => {
    const href = link(`/issues/${slug(d.id)}/`);
    const issueRef = { id: d.id, number: d.number, date: d.date, dateLabel: formatDate(d.date, language), title: issueTitle(d, language), href };
    const sections: ViewSection[] = d.sections.map((s) => ({
      themeId: s.themeId,
      title: s.title,
      description: s.description,
      href: themeHref(s.themeId),
      quotes: s.quotes.map((q: DigestQuote): ViewQuote => {
        const themeIds = [...new Set([s.themeId, ...q.themes])];
        return {
          id: q.id,
          anchor: quoteAnchor(q.id),
          text: q.text,
          speakerId: q.speaker,
          speakerName: q.speakerName,
          speakerHref: q.speakerName ? speakerHref(q.speaker) : null,
          heading: q.speakerName ?? 'Unattributed',
          sourceTitle: q.sourceTitle,
          sourceHref: safeHref(q.url),
          stance: q.stance,
          stanceLabel: stanceLabel(q.stance),
          statusLabel: STATUS_LABELS[q.status] ?? q.status,
          themes: themeIds.map((id) => ({ id, title: themeTitle.get(id)?.title ?? id, href: themeHref(id) })),
          href: `${href}#${quoteAnchor(q.id)}`,
          issue: issueRef,
          counterpoints: q.counterpoints.map(viewCounterpoint),
        };
      }),
    }));
    const speakerIds = new Set<string>();
    for (const s of sections) for (const q of s.quotes) if (q.speakerId && q.speakerName) speakerIds.add(q.speakerId);
    return {
      id: d.id,
      number: d.number,
      date: d.date,
      dateLabel: issueRef.dateLabel,
      title: d.title,
      fullTitle: issueRef.title,
      description: d.preheader || d.intro,
      intro: d.intro,
      href,
      absUrl: issueUrl(config, d.id),
      publishedAt: d.publishedAt,
      sections,
      sources: d.sources.map((s) => ({ title: s.title, href: safeHref(s.url), author: s.author })),
      speakers: [...speakerIds].filter((id) => speakerInfo.has(id)).map((id) => ({ id, title: speakerInfo.get(id)?.name ?? id, href: link(`/speakers/${slug(id)}/`) })),
      quoteCount: sections.reduce((n, s) => n + s.quotes.length, 0),
      prev: null,
      next: null,
    };
  });
  issues.forEach((issue, i) => {
    const newer = issues[i - 1];
    const older = issues[i + 1];
    issue.next = newer ? { href: newer.href, title: newer.fullTitle } : null;
    issue.prev = older ? { href: older.href, title: older.fullTitle } : null;
  });

  // Theme and speaker pages: every quote across issues, newest first (issues are newest first already).
  for (const issue of issues) {
    for (const section of issue.sections) {
      for (const q of section.quotes) {
        for (const t of q.themes) addToGroup(themeOf(t.id).groups, q);
        if (q.speakerId && q.speakerName) addToGroup(speakerOf(q.speakerId).groups, q);
        for (const c of q.counterpoints) {
          if (c.speakerId && c.speakerHref) speakerOf(c.speakerId).counters.push({ counterpoint: c, answers: q });
        }
      }
    }
  }
  const finish = <T extends { groups: ViewGroup[]; count: number; lastmod: string | null }>(x: T): T => {
    x.count = x.groups.reduce((n, g) => n + g.quotes.length, 0);
    const newest = x.groups[0] ? issues.find((i) => i.id === x.groups[0]?.issue.id) : undefined;
    x.lastmod = newest ? newest.publishedAt : null;
    return x;
  };
  const themeList = [...themes.values()].map(finish).filter((t) => t.count > 0);
  const publishedAt = new Map(issues.map((i) => [i.id, i.publishedAt]));
  const perPage = options.pageIssues ?? PAGE_ISSUES;
  for (const t of themeList) t.pages = paginateTheme(t, perPage, publishedAt);
  const speakerList = [...speakers.values()].map(finish).filter((s) => s.count > 0 || s.counters.length > 0);
  for (const s of speakerList) {
    if (!s.lastmod && s.counters[0]) s.lastmod = issues.find((i) => i.id === s.counters[0]?.answers.issue.id)?.publishedAt ?? null;
    s.pages = paginateSpeaker(s, perPage, publishedAt);
  }
  speakerList.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));

  const root = siteRoot(config);
  const model: ArchiveModel = {
    site: {
      title: config.site.title,
      description: config.site.description,
      language,
      author: config.site.author,
      root,
      rootNoSlash: root.replace(/\/$/, ''),
      basePath: normalizeBasePath(config.site.basePath),
      feedAtomUrl: absoluteUrl(config, '/feed.xml'),
      feedJsonUrl: absoluteUrl(config, '/feed.json'),
      subscribeUrl: safeHref(config.site.subscribeUrl),
    },
    issues,
    latest: issues[0] ?? null,
    themes: themeList,
    speakers: speakerList,
    render: { issues, themes: themeList.flatMap((t) => t.pages), speakers: speakerList.flatMap((s) => s.pages) },
    atom: '',
    jsonFeed: '',
    sitemap: '',
  };
  const feeds = renderFeeds(model, digests, config);
  model.atom = feeds.atom;
  model.jsonFeed = feeds.json;
  model.sitemap = renderSitemap(model);
  return model;
}

/**
 * A theme's or a speaker's issues (newest first, each with what the list shows of it) cut into pages of
 * `perPage` issues numbered from the OLDEST: `<root.href>page/1/` holds the list's oldest `perPage` issues,
 * `page/2/` the next, and so on. Only full pages get a number; the newest 1 to `perPage` issues (the ones not
 * yet on a full page) are the entry page at `root.href`, where every link to the list goes. A new issue then
 * changes the entry page alone, and the one that overflows it turns the entry page's issues into the next
 * numbered page: no full page ever changes its URL or its content, so bookmarks stay true and incremental
 * builds rewrite the entry page and at most one new page per list (counting from the newest would renumber
 * every page whenever the entry page fills).
 *
 * A full page shows nothing that depends on how many pages follow it: its newer link and its highest number
 * are the next number, `page/<k+1>/`, which for the newest full page does not hold issues yet. That URL is
 * written as a redirect to the entry page (kind 'next', no issues, kept out of the sitemap) until the
 * overflowing issue makes it a full page. Every page also links the entry page ("Newest"), which never moves.
 * Order of the result: the entry page, the full pages newest first, then the redirect (if any full page).
 * `publishedAt` gives each issue's time, for the sitemap.
 */
export function paginate<G extends { issue: { id: string; dateLabel: string } }>(
  groups: readonly G[],
  root: { href: string; permalink: string },
  perPage: number,
  publishedAt: ReadonlyMap<string, string>,
): ListPage<G>[] {
  const size = Math.max(1, Math.floor(perPage));
  const total = groups.length;
  // Full pages: every issue but the newest 1 to `size` (with none, there is only the entry page).
  const fullCount = Math.max(0, Math.floor((total - 1) / size));
  const entryCount = total - fullCount * size;
  const numbered = (n: number): PageLink => ({ number: n, label: String(n), href: `${root.href}page/${n}/` });
  const newest: PageLink = { number: null, label: 'Newest', href: root.href };
  // pageNumbers' numbers newest first, the entry page ahead of them; `highest` is left out on the entry page.
  const numbersFor = (current: number, highest: number, withHighest: boolean): (PageLink | null)[] => [
    newest,
    ...pageNumbers(current, highest)
      .reverse()
      .filter((k) => withHighest || k !== highest)
      .map((k) => (k === null ? null : numbered(k))),
  ];
  const page = (kind: ListPage<G>['kind'], n: number | null, own: G[], first: number): ListPage<G> => ({
    kind,
    number: n,
    href: n === null ? root.href : numbered(n).href,
    permalink: n === null ? root.permalink : `${root.permalink}page/${n}/`,
    first,
    last: first + own.length - 1,
    groups: own,
    newer: null,
    older: null,
    numbers: [],
    redirect: null,
    from: own[own.length - 1]?.issue.dateLabel ?? '',
    to: own[0]?.issue.dateLabel ?? '',
    lastmod: (own[0] && publishedAt.get(own[0].issue.id)) ?? null,
  });
  const entry = page('entry', null, groups.slice(0, entryCount), fullCount * size + 1);
  if (fullCount > 0) {
    entry.older = numbered(fullCount);
    entry.numbers = numbersFor(fullCount + 1, fullCount + 1, false);
  }
  const pages: ListPage<G>[] = [entry];
  for (let k = fullCount; k >= 1; k--) {
    // Issues counted from the oldest: page k holds the ((k-1)·size + 1)th to the (k·size)th.
    const full = page('full', k, groups.slice(total - k * size, total - (k - 1) * size), (k - 1) * size + 1);
    full.newer = numbered(k + 1);
    full.older = k > 1 ? numbered(k - 1) : null;
    full.numbers = numbersFor(k, k + 1, true);
    pages.push(full);
  }
  if (fullCount > 0) {
    const next = page('next', fullCount + 1, [], 0);
    next.last = 0;
    next.redirect = root.href;
    pages.push(next);
  }
  return pages;
}

/** A theme's pages (see paginate); the entry page also carries the theme's totals. */
export function paginateTheme(
  theme: Pick<ViewTheme, 'id' | 'slug' | 'title' | 'description' | 'href' | 'count' | 'groups'>,
  perPage: number,
  publishedAt: ReadonlyMap<string, string>,
): ViewThemePage[] {
  const info = { id: theme.id, slug: theme.slug, title: theme.title, description: theme.description, href: theme.href };
  return paginate(theme.groups, { href: theme.href, permalink: `/themes/${theme.slug}/` }, perPage, publishedAt).map((page) => ({
    ...page,
    theme: info,
    totals: page.kind === 'entry' ? { quotes: theme.count, issues: theme.groups.length } : null,
  }));
}

/**
 * A speaker's pages (see paginate): cut by the issues they were quoted in or gave a counterpoint in, so each
 * page shows that speaker's quotes and counterpoints from the same issues and every one of them is on exactly
 * one page; the entry page also carries the speaker's totals.
 */
export function paginateSpeaker(
  speaker: Pick<ViewSpeaker, 'id' | 'slug' | 'name' | 'role' | 'href' | 'count' | 'groups' | 'counters'>,
  perPage: number,
  publishedAt: ReadonlyMap<string, string>,
): ViewSpeakerPage[] {
  const byIssue = new Map<string, { issue: ViewQuote['issue']; quotes: ViewQuote[]; counters: ViewCounter[] }>();
  const of = (issue: ViewQuote['issue']): { issue: ViewQuote['issue']; quotes: ViewQuote[]; counters: ViewCounter[] } => {
    let g = byIssue.get(issue.id);
    if (!g) byIssue.set(issue.id, (g = { issue, quotes: [], counters: [] }));
    return g;
  };
  for (const g of speaker.groups) of(g.issue).quotes.push(...g.quotes);
  for (const c of speaker.counters) of(c.answers.issue).counters.push(c);
  // An issue with only a counterpoint of theirs takes its place among the others by date.
  const issues = [...byIssue.values()].sort((a, b) => newestFirst(a.issue, b.issue));
  const info = { id: speaker.id, slug: speaker.slug, name: speaker.name, role: speaker.role, href: speaker.href };
  return paginate(issues, { href: speaker.href, permalink: `/speakers/${speaker.slug}/` }, perPage, publishedAt).map(({ groups, ...page }) => ({
    ...page,
    speaker: info,
    groups: groups.filter((g) => g.quotes.length > 0).map(({ issue, quotes }) => ({ issue, quotes })),
    counters: groups.flatMap((g) => g.counters),
    totals: page.kind === 'entry' ? { quotes: speaker.count, counterpoints: speaker.counters.length } : null,
  }));
}

/**
 * The page numbers a pager shows: the first, the last, and two either side of the current one, with null for
 * each gap ("1 … 4 5 6 7 8 … 25"); a gap of a single page shows that page instead. Ascending; paginate shows
 * them newest (highest) first, and passes a full page its own next number as `count` so its pager never depends
 * on how many pages follow it.
 */
export function pageNumbers(current: number, count: number): (number | null)[] {
  const shown = new Set<number>([1, count]);
  for (let k = current - 2; k <= current + 2; k++) if (k >= 1 && k <= count) shown.add(k);
  const sorted = [...shown].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const k of sorted) {
    const last = out[out.length - 1];
    if (typeof last === 'number' && k - last === 2) out.push(last + 1);
    else if (typeof last === 'number' && k - last > 2) out.push(null);
    out.push(k);
  }
  return out;
}

// ───────────────────────────── feeds and sitemap ─────────────────────────────

/** The HTML body of a feed entry: intro, then each section's quotes (at most `maxQuotes` in all). */
function feedContentHtml(issue: ViewIssue, maxQuotes: number, withCounterpoints: boolean): string {
  const out: string[] = [`<p>${escapeHtml(issue.intro)}</p>`];
  let shown = 0;
  for (const section of issue.sections) {
    const quotes = section.quotes.slice(0, Math.max(0, maxQuotes - shown));
    if (quotes.length === 0) continue;
    out.push(`<h2>${escapeHtml(section.title)}</h2>`);
    for (const q of quotes) {
      shown++;
      const cite = q.sourceHref ? `<a href="${escapeHtml(q.sourceHref)}">${escapeHtml(q.sourceTitle)}</a>` : escapeHtml(q.sourceTitle);
      const who = q.speakerName ? `— ${escapeHtml(q.speakerName)}, ${cite}` : `— as quoted by ${cite}`;
      out.push(`<blockquote><p>${escapeHtml(q.text)}</p></blockquote><p>${who}</p>`);
      if (withCounterpoints) {
        for (const c of q.counterpoints) {
          const by = c.speakerName ? escapeHtml(c.speakerName) : `as quoted by ${escapeHtml(c.sourceTitle)}`;
          out.push(`<p><strong>Counterpoint</strong> (${by}): “${escapeHtml(c.text)}” <em>${escapeHtml(c.reason)}</em></p>`);
        }
      }
    }
  }
  const rest = issue.quoteCount - shown;
  const more = rest > 0 ? `${rest} more quote${rest === 1 ? '' : 's'} in ` : 'Read ';
  out.push(`<p>${more}<a href="${escapeHtml(issue.absUrl)}">the web version of issue ${issue.number}</a>.</p>`);
  return out.join('\n');
}

interface FeedEntry {
  issue: ViewIssue;
  id: string;
  content: string;
}

function atomText(entries: FeedEntry[], model: ArchiveModel, updated: string): string {
  const s = model.site;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${escapeHtml(s.language)}">`,
    `  <title>${escapeHtml(s.title)}</title>`,
    `  <subtitle>${escapeHtml(s.description)}</subtitle>`,
    `  <link rel="self" type="application/atom+xml" href="${escapeHtml(s.feedAtomUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${escapeHtml(s.root)}"/>`,
    `  <id>${escapeHtml(s.root)}</id>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${escapeHtml(s.author)}</name></author>`,
    '  <generator>debate-digest</generator>',
  ];
  for (const e of entries) {
    const at = rfc3339(e.issue.publishedAt);
    lines.push(
      '  <entry>',
      `    <title type="text">${escapeHtml(e.issue.fullTitle)}</title>`,
      `    <link rel="alternate" type="text/html" href="${escapeHtml(e.issue.absUrl)}"/>`,
      `    <id>${escapeHtml(e.id)}</id>`,
      `    <published>${at}</published>`,
      `    <updated>${at}</updated>`,
      `    <summary type="text">${escapeHtml(e.issue.description)}</summary>`,
      `    <content type="html">${escapeHtml(e.content)}</content>`,
      '  </entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}

function jsonFeedText(entries: FeedEntry[], model: ArchiveModel): string {
  const s = model.site;
  const clean = (t: string): string => t.replace(XML_INVALID, '');
  const feed = {
    version: 'https://jsonfeed.org/version/1.1',
    title: clean(s.title),
    home_page_url: s.root,
    feed_url: s.feedJsonUrl,
    description: clean(s.description),
    language: s.language,
    authors: [{ name: clean(s.author) }],
    items: entries.map((e) => ({
      id: e.id,
      url: e.issue.absUrl,
      title: clean(e.issue.fullTitle),
      summary: clean(e.issue.description),
      content_html: e.content,
      date_published: rfc3339(e.issue.publishedAt),
      date_modified: rfc3339(e.issue.publishedAt),
    })),
  };
  return `${JSON.stringify(feed, null, 2)}\n`;
}

/**
 * Atom and JSON Feed with the full content of the latest issues. When either would pass FEED_MAX_BYTES, entry
 * content is cut to fewer quotes (counterpoints go first) rather than dropping entries, so readers keep every
 * issue and a link to its web version.
 */
function renderFeeds(model: ArchiveModel, _digests: Digest[], config: Config): { atom: string; json: string } {
  const latest = model.issues.slice(0, FEED_ISSUES);
  // Never build time: the feed changes when an issue does.
  const updated = latest[0] ? rfc3339(latest.reduce((m, i) => (i.publishedAt > m ? i.publishedAt : m), latest[0].publishedAt)) : '1970-01-01T00:00:00Z';
  const steps: [number, boolean][] = [[Infinity, true], [Infinity, false], [12, false], [8, false], [5, false], [3, false], [1, false], [0, false]];
  let result = { atom: '', json: '' };
  for (const [maxQuotes, withCounterpoints] of steps) {
    const entries = latest.map((issue) => ({ issue, id: entryId(config, issue), content: feedContentHtml(issue, maxQuotes, withCounterpoints) }));
    result = { atom: atomText(entries, model, updated), json: jsonFeedText(entries, model) };
    if (Buffer.byteLength(result.atom) < FEED_MAX_BYTES && Buffer.byteLength(result.json) < FEED_MAX_BYTES) break;
  }
  return result;
}

/** Pages worth listing for search engines (not the 404 page or the search page). */
export function renderSitemap(model: ArchiveModel): string {
  const urls: { loc: string; lastmod: string | null }[] = [];
  // Hrefs in the model already carry the base path; absolute URLs are the root plus the rest.
  const abs = (href: string): string => model.site.root + href.slice(model.site.basePath.length);
  const latest = model.latest?.publishedAt ?? null;
  urls.push({ loc: model.site.root, lastmod: latest });
  for (const i of model.issues) urls.push({ loc: i.absUrl, lastmod: i.publishedAt });
  // The entry page carries the theme's or speaker's lastmod (its newest issue), the full pages their own; the
  // redirect at the next number is not a page of its own.
  const listed = (x: { href: string; lastmod: string | null; pages: ListPage<unknown>[] }): void => {
    urls.push({ loc: abs(x.href), lastmod: x.lastmod });
    for (const p of x.pages) if (p.kind === 'full') urls.push({ loc: abs(p.href), lastmod: p.lastmod });
  };
  urls.push({ loc: `${model.site.root}themes/`, lastmod: latest });
  model.themes.forEach(listed);
  urls.push({ loc: `${model.site.root}speakers/`, lastmod: latest });
  model.speakers.forEach(listed);
  urls.push({ loc: `${model.site.root}subscribe/`, lastmod: null });
  const lines = ['<?xml version="1.0" encoding="utf-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'];
  for (const u of urls) {
    lines.push(`  <url><loc>${escapeHtml(u.loc)}</loc>${u.lastmod ? `<lastmod>${rfc3339(u.lastmod)}</lastmod>` : ''}</url>`);
  }
  lines.push('</urlset>', '');
  return lines.join('\n');
}

// ───────────────────────────── incremental builds ─────────────────────────────

export interface Manifest {
  version: number;
  /** Hash of config, templates, this module's model version and the page size: any change forces a full build. */
  inputs: string;
  records: Record<string, { hash: string }>;
  /** Each theme and speaker page's fingerprint (pageFingerprints), by permalink. */
  pages: Record<string, string>;
  files: string[];
}

async function hashTemplates(): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else hash.update(full.slice(TEMPLATE_DIR.length)).update(await readFile(full));
    }
  };
  await walk(TEMPLATE_DIR);
  hash.update(await readFile(ELEVENTY_CONFIG));
  return hash.digest('hex');
}

async function readManifest(siteDir: string): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await readFile(path.join(siteDir, MANIFEST_FILE), 'utf8')) as Manifest;
    return m.version === MODEL_VERSION && typeof m.inputs === 'string' && isObject(m.records) && isObject(m.pages) && Array.isArray(m.files) ? m : null;
  } catch {
    return null;
  }
}

/**
 * A hash of everything each theme and speaker page shows (its view model: quotes, links, page numbers), by
 * permalink. A page is rewritten when its hash changes, which catches what reasoning about records would miss
 * (a removed issue shifting the cuts, the redirect at the next number turning into a full page) and spares what
 * it would redo (full pages, which a new issue leaves as they were). Measured: 40 to 80 ms for the 147 theme and
 * speaker pages of 500 fixture-sized issues (a theme or Ilya Sutskever's quotes were one 1 MB page before paging).
 */
export function pageFingerprints(model: Pick<ArchiveModel, 'themes' | 'speakers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of [...model.themes, ...model.speakers]) for (const p of list.pages) out[p.permalink] = sha256(JSON.stringify(p));
  return out;
}

/**
 * What an incremental build must rewrite: issues whose record changed or appeared, their neighbours (their
 * prev/next links change), and the theme and speaker pages whose fingerprint changed. Home, feeds, sitemap and
 * the small pages are always rewritten.
 */
export function planIncremental(
  model: ArchiveModel,
  hashes: Record<string, string>,
  previous: Pick<Manifest, 'records' | 'pages'>,
  fingerprints: Record<string, string> = pageFingerprints(model),
): ArchiveModel['render'] {
  const changed = new Set<string>();
  model.issues.forEach((issue, i) => {
    const before = previous.records[issue.id];
    if (before && before.hash === hashes[issue.id]) return;
    changed.add(issue.id);
    const newer = model.issues[i - 1];
    const older = model.issues[i + 1];
    if (newer) changed.add(newer.id);
    if (older) changed.add(older.id);
  });
  const current = new Set(model.issues.map((i) => i.id));
  for (const id of Object.keys(previous.records)) {
    if (current.has(id)) continue;
    // A removed issue changes its neighbours' links; without its date we rewrite the issues next to the gap.
    const idx = model.issues.findIndex((i) => i.id < id);
    for (const n of [model.issues[idx - 1], model.issues[idx], model.issues[model.issues.length - 1]]) if (n) changed.add(n.id);
  }
  const stale = (p: { permalink: string }): boolean => previous.pages[p.permalink] !== fingerprints[p.permalink];
  return {
    issues: model.issues.filter((i) => changed.has(i.id)),
    themes: model.render.themes.filter(stale),
    speakers: model.render.speakers.filter(stale),
  };
}

// ───────────────────────────── the build (I/O edge) ─────────────────────────────

export interface BuildSiteOptions {
  digestsDir: string;
  siteDir: string;
  config: Config;
  quiet?: boolean;
  /** Rewrite only pages whose inputs changed since the last build into siteDir (full build when unsure). */
  incremental?: boolean;
  /** Skip the Pagefind index (search page then says search is unavailable). Default false. */
  skipSearchIndex?: boolean;
  /** Quotes rendered per Eleventy pass (see PASS_WEIGHT, the default); tests set it low to force passes. */
  passWeight?: number;
  /** Issues per theme and speaker page (default PAGE_ISSUES); tests set it low to get several pages. */
  pageIssues?: number;
}

/**
 * Build the archive from the records in digestsDir into siteDir. Returns the number of HTML pages written and
 * every file the site consists of (relative to siteDir). A build removes files an earlier build wrote that
 * this one no longer produces (an issue record deleted, a theme with fewer pages), and nothing else.
 */
export async function buildSite(opts: BuildSiteOptions): Promise<{ pages: number; files: string[] }> {
  const siteDir = path.resolve(opts.siteDir);
  // The parsed records are dropped once the model is made: the model keeps only what the pages show.
  const pageIssues = opts.pageIssues ?? PAGE_ISSUES;
  const { model, hashes } = await readArchiveModel(path.resolve(opts.digestsDir), opts.config, pageIssues);
  const inputs = sha256(JSON.stringify([MODEL_VERSION, opts.config, pageIssues, await hashTemplates()]));
  const previous = await readManifest(siteDir);
  const incremental = Boolean(opts.incremental && previous && previous.inputs === inputs);
  const fingerprints = pageFingerprints(model);
  if (incremental && previous) model.render = planIncremental(model, hashes, previous, fingerprints);
  await mkdir(siteDir, { recursive: true });

  // Eleventy keeps every page it renders in memory until its build ends (the body, then the page with its
  // layout, in the result): for 500 issues that was ~100 MB of HTML held two or three times over, the run's
  // peak. So the pages are built in passes of about PASS_WEIGHT quotes, one Eleventy build each, and the
  // garbage is collected before each pass (see collectGarbage): what stays is the model (~45 MB for 500
  // issues) and one pass.
  const written = new Set<string>();
  const passes = planPasses(model.render, opts.passWeight);
  for (const [i, render] of passes.entries()) {
    if (passes.length > 1) collectGarbage();
    const outputs = await runEleventy({ ...model, render }, siteDir, opts, i === 0);
    for (const f of outputs) written.add(f);
  }

  // The index reads every issue page (~2 s for 500): skip it when no issue page changed and it exists.
  const indexCurrent = incremental && model.render.issues.length === 0 && (await exists(path.join(siteDir, 'pagefind', 'pagefind.js')));
  if (!opts.skipSearchIndex && !indexCurrent) await writeSearchIndex(siteDir, model.site.language);

  // The files the site consists of: every page in the model (written now or kept from the last build).
  const files = new Set<string>(written);
  const pageFiles = expectedPages(model);
  for (const f of pageFiles) files.add(f);
  // Incremental builds too: a page the model no longer has (a theme's last page after a record was removed)
  // would otherwise stay on disk, outside the manifest, with a pager pointing past the end.
  if (previous) {
    for (const stale of previous.files) {
      // (Only inside the site: the manifest is a file on disk, and "../digests/x.json" in it must not delete a record.)
      const target = path.resolve(siteDir, stale);
      if (!files.has(stale) && !stale.startsWith('pagefind/') && target.startsWith(path.resolve(siteDir) + path.sep)) await rm(target, { force: true });
    }
  }
  const manifest: Manifest = {
    version: MODEL_VERSION,
    inputs,
    records: Object.fromEntries(model.issues.map((i) => [i.id, { hash: hashes[i.id] ?? '' }])),
    pages: fingerprints,
    files: [...files].sort(),
  };
  await writeFile(path.join(siteDir, MANIFEST_FILE), `${JSON.stringify(manifest)}\n`);
  return { pages: [...written].filter((f) => f.endsWith('.html')).length, files: manifest.files };
}

async function readArchiveModel(
  digestsDir: string,
  config: Config,
  pageIssues: number,
): Promise<{ model: ArchiveModel; hashes: Record<string, string> }> {
  const { digests, hashes } = await readDigestRecords(digestsDir);
  return { model: toArchiveModel(digests, config, { pageIssues }), hashes };
}

/**
 * Quotes (each counterpoint counts as one more) rendered per Eleventy pass: ~1 KB of HTML each, so about 24 MB
 * of pages a pass. Chosen when a 500-issue theme was one ~12 MB page (a page is rendered whole, so the largest
 * sets the floor); theme and speaker pages are now paged (PAGE_ISSUES), so no page comes near it.
 */
export const PASS_WEIGHT = 24_000;

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection, now. Between build passes nearly everything the last pass allocated is garbage,
 * but V8 collects when the heap reaches a limit it sets from the last full collection, and in `digest run`
 * that one happened during analyze, with a large heap live: the passes' pages then piled up (~350 MB for 500
 * issues) with nothing collecting them. Measured: live heap is ~45 MB at the start of the build and ~85 MB
 * after any pass. Node exposes gc() only under --expose-gc; it is switched on just long enough to take the
 * function from a fresh context and off again (as jest's leak detector does). Without it, builds still work.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      if (exposed) gc = exposed;
      else {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as () => void;
        setFlagsFromString('--no-expose-gc');
      }
    } catch {
      gc = null;
    }
  }
  gc?.();
}

/** The templates that are not paginated over `archive.render`: built in the first pass only. */
const PAGED_TEMPLATES = new Set(['issue.njk', 'theme.njk', 'speaker.njk']);

/**
 * The pages to render split into passes of about `maxWeight` quotes each, in model order (issues, themes,
 * speakers); a page heavier than that is a pass of its own. Always at least one pass (it carries the home
 * page, feeds and the other fixed pages).
 */
export function planPasses(render: ArchiveModel['render'], maxWeight = PASS_WEIGHT): ArchiveModel['render'][] {
  const quotesWeight = (quotes: ViewQuote[]): number => quotes.reduce((n, q) => n + 1 + q.counterpoints.length, 0);
  const groupsWeight = (groups: ViewGroup[]): number => groups.reduce((n, g) => n + quotesWeight(g.quotes), 0);
  const passes: ArchiveModel['render'][] = [];
  let pass: ArchiveModel['render'] = { issues: [], themes: [], speakers: [] };
  let weight = 0;
  const add = <K extends keyof ArchiveModel['render']>(key: K, page: ArchiveModel['render'][K][number], w: number): void => {
    if (weight > 0 && weight + w > maxWeight) {
      passes.push(pass);
      pass = { issues: [], themes: [], speakers: [] };
      weight = 0;
    }
    (pass[key] as ArchiveModel['render'][K][number][]).push(page);
    weight += w;
  };
  for (const i of render.issues) add('issues', i, i.sections.reduce((n, s) => n + quotesWeight(s.quotes), 0));
  for (const t of render.themes) add('themes', t, groupsWeight(t.groups));
  for (const s of render.speakers) add('speakers', s, groupsWeight(s.groups) + s.counters.length);
  passes.push(pass);
  return passes;
}

/** One Eleventy build of `model.render`'s pages (and, when `fixed`, the other pages); returns what it wrote. */
async function runEleventy(model: ArchiveModel, siteDir: string, opts: BuildSiteOptions, fixed: boolean): Promise<string[]> {
  // Eleventy ships no type declarations; a computed specifier keeps tsc from demanding them.
  const eleventyModule = '@11ty/eleventy';
  const { default: Eleventy } = (await import(eleventyModule)) as { default: EleventyClass };
  const basePath = normalizeBasePath(opts.config.site.basePath);
  const elev = new Eleventy(TEMPLATE_DIR, siteDir, {
    configPath: ELEVENTY_CONFIG,
    pathPrefix: basePath,
    quietMode: opts.quiet ?? true,
    config(eleventyConfig: EleventyUserConfig) {
      // Frozen, so Eleventy's data cascade passes it as it is instead of copying it into every template's data.
      eleventyConfig.addGlobalData('archive', Object.freeze(model));
      // Returning false from a preprocessor skips the template: later passes only render the paged templates.
      if (!fixed) eleventyConfig.addPreprocessor('digest-pass', 'njk', (data) => (PAGED_TEMPLATES.has(path.basename(data.page.inputPath)) ? undefined : false));
      // Eleventy's slow-plugin warnings ("[11ty] Benchmark …") ignore quietMode; a quiet build prints nothing.
      if (opts.quiet ?? true) eleventyConfig.benchmarkManager?.getBenchmarkGroup?.('Configuration')?.setIsVerbose?.(false);
    },
  });
  // quietMode still prints Eleventy's "Wrote N files" line; a quiet build prints nothing.
  if (opts.quiet ?? true) elev.disableLogger();
  try {
    // Only the output paths are kept: the result also holds every page's HTML.
    return collectOutputs(await elev.write(), siteDir);
  } catch (err) {
    throw new DigestError('SITE_BUILD_FAILED', `Eleventy could not build the archive: ${err instanceof Error ? err.message : String(err)}`, {
      origin: TEMPLATE_DIR,
      hint: 'Check the template named in the message; run with --verbose for Eleventy’s own output.',
      cause: err,
    });
  }
}

interface EleventyUserConfig {
  addGlobalData(name: string, value: unknown): void;
  addPreprocessor(name: string, extensions: string, fn: (data: { page: { inputPath: string } }, content: string) => false | undefined): void;
  benchmarkManager?: { getBenchmarkGroup?(name: string): { setIsVerbose?(verbose: boolean): void } | undefined };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

type EleventyClass = new (
  input: string,
  output: string,
  options: { configPath: string; pathPrefix: string; quietMode: boolean; config: (c: EleventyUserConfig) => void },
) => { write(): Promise<unknown>; disableLogger(): void };

/** Output paths from Eleventy's write() result (nested arrays of { outputPath }), relative to siteDir. */
function collectOutputs(results: unknown, siteDir: string): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v) && typeof v.outputPath === 'string' && v.outputPath) {
      out.push(path.relative(siteDir, path.resolve(v.outputPath)).split(path.sep).join('/'));
    }
  };
  visit(results);
  return [...new Set(out)].sort();
}

function expectedPages(model: ArchiveModel): string[] {
  const html = (href: string): string => `${href.slice(model.site.basePath.length)}index.html`;
  return [
    ...model.issues.map((i) => html(i.href)),
    ...model.themes.flatMap((t) => t.pages.map((p) => html(p.href))),
    ...model.speakers.flatMap((s) => s.pages.map((p) => html(p.href))),
  ];
}

/** Index the issue pages with Pagefind (its npm package ships the binary), written to siteDir/pagefind/. */
async function writeSearchIndex(siteDir: string, language: string): Promise<void> {
  const pagefind = await import('pagefind');
  const { index, errors } = await pagefind.createIndex({ forceLanguage: language.split('-')[0] || 'en' });
  try {
    if (!index) throw new Error(errors.join('; '));
    // Only issue pages hold searchable quotes (theme and speaker pages repeat them): reading just those
    // keeps Pagefind from parsing megabytes of theme pages on every build.
    const added = await index.addDirectory({ path: siteDir, glob: 'issues/**/*.html' });
    if (added.errors.length) throw new Error(added.errors.join('; '));
    await rm(path.join(siteDir, 'pagefind'), { recursive: true, force: true });
    const wrote = await index.writeFiles({ outputPath: path.join(siteDir, 'pagefind') });
    if (wrote.errors.length) throw new Error(wrote.errors.join('; '));
  } catch (err) {
    throw new DigestError('SITE_BUILD_FAILED', `the search index could not be written: ${err instanceof Error ? err.message : String(err)}`, {
      origin: siteDir,
      hint: 'Pagefind runs a binary from the @pagefind/<platform> npm package; check it installed (npx pagefind --version).',
      cause: err,
    });
  } finally {
    await pagefind.close();
  }
}
