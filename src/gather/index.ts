import { DEFAULT_GATHER } from '../config.js';
import type { Config, FeedConfig, GatherConfig, Gathered, Problem, SourceHealth, SourceItem } from '../model.js';
import { DigestError, redactUrl, toProblem } from '../errors.js';
import { fetchFeed, openFetchAgents, type FeedFetcher, type FetchResult } from './fetch.js';
import { parseFeed } from './feeds.js';
import { readDroppedFiles } from './files.js';
import {
  LedgerIndex, canonicalUrl, emptyLedger, isHashable, itemIdOf, ledgerKeyOf, normalizeForHash, urlKey,
  type FeedState, type LedgerEntry, type SeenLedger,
} from './ledger.js';

export { emptyLedger, readSeenLedger, writeSeenLedger, canonicalUrl } from './ledger.js';
export type { SeenLedger, LedgerEntry, FeedState } from './ledger.js';
export { fetchFeed, openFetchAgents, type FeedFetcher, type FetchResult, type Conditional, type FetchAgents } from './fetch.js';
export { parseFeed } from './feeds.js';
export { parseDroppedFile, readDroppedFiles } from './files.js';
export { sanitizeHtml, htmlToText } from './sanitize.js';

/** Defaults for every gather setting, for callers that hold a partial config (tests, the benchmark). */
export const GATHER_DEFAULTS: GatherConfig = DEFAULT_GATHER;

/** The issueId of ledger entries for items older than the first run's backfill window: seen, never issued. */
export const BEFORE_BACKFILL = 'before-backfill-window';

/** How many feeds are fetched at once overall (the per-host limit applies within it). */
export const GLOBAL_CONCURRENCY = 16;

/** A counting semaphore per key (host), plus a global one. */
class Limiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  constructor(private readonly perKey: number) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if ((this.active.get(key) ?? 0) >= this.perKey) {
      await new Promise<void>((r) => {
        const q = this.waiting.get(key) ?? [];
        q.push(r);
        this.waiting.set(key, q);
      });
    } else {
      this.active.set(key, (this.active.get(key) ?? 0) + 1);
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.get(key)?.shift();
      // Hand the slot straight to the next waiter; otherwise give it back.
      if (next) next();
      else this.active.set(key, (this.active.get(key) ?? 1) - 1);
    }
  }
}

function hostKey(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

interface FeedOutcome {
  feed: FeedConfig;
  items: SourceItem[];
  problems: Problem[];
  status: 'ok' | 'not-modified' | 'failed';
  error: string | null;
  /** The HTTP validators only: the body is dropped once parsed, so 200 feeds' text is not all held at once. */
  fetched: Pick<FetchResult, 'etag' | 'lastModified'> | null;
}

async function gatherFeed(feed: FeedConfig, state: FeedState | undefined, cfg: GatherConfig, fetcher: FeedFetcher, limit: <T>(fn: () => Promise<T>) => Promise<T>): Promise<FeedOutcome> {
  const origin = redactUrl(feed.url);
  const cond = { etag: state?.etag ?? null, lastModified: state?.lastModified ?? null };
  let fetched: FetchResult;
  try {
    // Only the network part holds a connection slot; parsing happens after the slot is handed on.
    fetched = await limit(() => fetcher(feed.url, cond, cfg));
  } catch (err) {
    const p = toProblem(err, origin, 'FEED_FETCH_FAILED', 'it will be tried again next run');
    // Keep the configured URL as the origin so the report names the feed the user wrote.
    return { feed, items: [], problems: [{ ...p, origin }], status: 'failed', error: `${p.code}: ${p.message}`, fetched: null };
  }
  const validators = { etag: fetched.etag, lastModified: fetched.lastModified };
  if (fetched.status === 'not-modified') return { feed, items: [], problems: [], status: 'not-modified', error: null, fetched: validators };
  const parsed = await parseFeed(fetched.body, origin, { feed, baseUrl: fetched.finalUrl, maxItems: cfg.maxItemsPerFeed });
  if (parsed.fatal) {
    return { feed, items: [], problems: parsed.problems, status: 'failed', error: `${parsed.fatal.code}: ${parsed.fatal.message}`, fetched: validators };
  }
  return { feed, items: parsed.items, problems: parsed.problems, status: 'ok', error: null, fetched: validators };
}

/** Every identity an item can be recognized by in the ledger, strongest first, each once. */
function identitiesOf(item: SourceItem): string[] {
  const keys: string[] = [];
  // Files are known by path (and content), never by the URLs they cite: see ledgerKeyOf.
  if (item.kind !== 'file') {
    if (item.url) addKey(keys, item.url);
    for (const l of item.links) addKey(keys, l);
  }
  if (item.guid) pushNew(keys, 'guid:' + item.guid.trim());
  if (item.kind === 'file') pushNew(keys, 'file:' + item.sourceId);
  if (isSubstantial(item)) pushNew(keys, 'content:' + item.contentHash);
  pushNew(keys, primaryKeyOf(item));
  return keys;
}

function addKey(keys: string[], link: string): void {
  const c = canonicalUrl(link);
  if (c) pushNew(keys, urlKey(c));
}

/** A handful of keys an item: a scan finds a repeat without a Set and a second array per item. */
function pushNew(keys: string[], key: string): void {
  if (!keys.includes(key)) keys.push(key);
}

function primaryKeyOf(item: SourceItem): string {
  return ledgerKeyOf({ url: item.url, guid: item.guid, file: item.kind === 'file' ? item.sourceId : null, title: item.title, text: item.text, contentHash: item.contentHash });
}

/** Whether an item's text is long enough for its hash to identify it (the length is remembered from hashing). */
function isSubstantial(item: SourceItem): boolean {
  return isHashable(item.text, item.contentHash);
}

/**
 * Title + text: two feeds syndicating the same post under different links collapse on this. Only a key in
 * one run's map, never stored: the text itself serves, with no hash of it to compute.
 */
function duplicateKeyOf(item: SourceItem): string | null {
  if (!isSubstantial(item)) return null;
  return normalizeForHash(item.title).toLowerCase() + '\n' + item.contentHash;
}

function mergeInto(into: SourceItem, from: SourceItem): void {
  for (const l of from.links) if (!into.links.includes(l)) into.links.push(l);
  if (!into.url && from.url) into.url = from.url;
  if (!into.date && from.date) {
    into.date = from.date;
    into.dateProblem = null;
  }
  for (const s of from.speakers) if (!into.speakers.includes(s)) into.speakers.push(s);
}

/**
 * Collapse items that are the same thing: same ledger key (same canonical URL, or same GUID without a
 * link) or same title and text. The first seen wins and keeps every link.
 */
function collapseDuplicates(items: SourceItem[]): SourceItem[] {
  const out: SourceItem[] = [];
  const byKey = new Map<string, SourceItem>();
  for (const item of items) {
    const keys = [primaryKeyOf(item)];
    const dup = duplicateKeyOf(item);
    if (dup) keys.push('dup:' + dup);
    const existing = keys.map((k) => byKey.get(k)).find((x) => x !== undefined);
    if (existing) {
      mergeInto(existing, item);
      for (const k of keys) if (!byKey.has(k)) byKey.set(k, existing);
      continue;
    }
    const copy = { ...item, links: [...item.links], speakers: [...item.speakers] };
    for (const k of keys) byKey.set(k, copy);
    out.push(copy);
  }
  return out;
}

function withDefaults(cfg: Partial<GatherConfig> | undefined): GatherConfig {
  return { ...GATHER_DEFAULTS, ...(cfg ?? {}) };
}

/**
 * Read every dropped file and fetch every feed; sort what was found into new and known items using the
 * seen-ledger. Returns the updated ledger without writing it: the pipeline writes it once the issue is
 * recorded. A failed feed never clears its ledger state (ETag, last success); it only counts the failure.
 */
export async function gather(opts: { config: Config; sourcesDir: string; ledger: SeenLedger; now: Date; fetch?: FeedFetcher }): Promise<{ gathered: Gathered; ledger: SeenLedger }> {
  const cfg = withDefaults(opts.config.gather);
  const nowIso = opts.now.toISOString();
  const ledger: SeenLedger = structuredClone(opts.ledger ?? emptyLedger());
  // The default fetcher shares keep-alive connections within this run; they are closed once every feed is in.
  const agents = opts.fetch ? null : openFetchAgents();
  const fetcher: FeedFetcher = opts.fetch ?? ((url, cond, c) => fetchFeed(url, cond, c, agents));
  const problems: Problem[] = [];
  const health: SourceHealth[] = [];

  // Feeds and files are independent: start the network first, read files meanwhile.
  const perHost = new Limiter(Math.max(1, cfg.perHostConcurrency));
  const global = new Limiter(GLOBAL_CONCURRENCY);
  // Outcomes stay in the configured feed order, whatever order the fetches and parses finish in.
  const feedPromise = Promise.all(
    opts.config.feeds.map((feed) =>
      gatherFeed(feed, ledger.feeds[feed.id], cfg, fetcher, (fn) => global.run('*', () => perHost.run(hostKey(feed.url), fn))),
    ),
  );
  let files: Awaited<ReturnType<typeof readDroppedFiles>>;
  let outcomes: FeedOutcome[];
  try {
    files = await readDroppedFiles(opts.sourcesDir);
    outcomes = await feedPromise;
  } finally {
    // Also when reading the files failed: the fetches still running close their connections when done.
    if (agents) void feedPromise.then(agents.close, agents.close);
  }
  problems.push(...files.problems);

  const cutoff = opts.now.getTime() - cfg.backfillDays * 86_400_000;
  const candidates: SourceItem[] = [...files.items];
  const beforeWindow: SourceItem[] = [];
  const feedItemCounts = new Map<string, number>();
  for (const o of outcomes) {
    problems.push(...o.problems);
    const prev = ledger.feeds[o.feed.id];
    // First run for this feed: take only the backfill window (undated items are kept; they are flagged).
    const firstRun = !prev?.lastSuccess;
    const kept = firstRun ? o.items.filter((i) => i.date === null || Date.parse(i.date) >= cutoff) : o.items;
    if (firstRun) for (const i of o.items) if (!kept.includes(i)) beforeWindow.push(i);
    feedItemCounts.set(o.feed.id, kept.length);
    candidates.push(...kept);
    if (o.status === 'failed') {
      const failures = (prev?.consecutiveFailures ?? 0) + 1;
      ledger.feeds[o.feed.id] = {
        etag: prev?.etag ?? null,
        lastModified: prev?.lastModified ?? null,
        lastSuccess: prev?.lastSuccess ?? null,
        consecutiveFailures: failures,
        lastError: o.error,
      };
      if (failures >= cfg.failingAfterRuns) {
        problems.push({
          code: 'SOURCE_FAILING',
          origin: redactUrl(o.feed.url),
          message: `this feed has failed ${failures} runs in a row (last: ${o.error ?? 'unknown'})`,
          hint: 'check the URL in a browser; fix or remove it in sources/feeds.yaml',
        });
      }
    } else {
      ledger.feeds[o.feed.id] = {
        etag: o.fetched?.etag ?? prev?.etag ?? null,
        lastModified: o.fetched?.lastModified ?? prev?.lastModified ?? null,
        lastSuccess: nowIso,
        consecutiveFailures: 0,
        lastError: null,
      };
    }
  }

  const unique = collapseDuplicates(candidates);
  const index = new LedgerIndex(ledger.entries);
  // Items left out by the first run's backfill window are remembered as seen, or the next run (no longer a
  // first run) would bring them all in as new.
  for (const item of beforeWindow) {
    if (index.find(identitiesOf(item)) !== null) continue;
    const key = primaryKeyOf(item);
    const id = itemIdOf(key);
    const entry: LedgerEntry = { key, firstSeen: nowIso, issueId: BEFORE_BACKFILL, contentHash: item.contentHash, urls: [...item.links].sort(), guid: item.guid };
    ledger.entries[id] = entry;
    index.add(id, entry);
  }
  const items: SourceItem[] = [];
  const known: SourceItem[] = [];
  const newBySource = new Map<string, number>();
  // Two items of one run can still meet the same ledger entry (say, one GUID on two links): keep one.
  const byId = new Map<string, SourceItem>();
  for (const item of unique) {
    const hit = index.find(identitiesOf(item));
    const twin = hit !== null ? byId.get(hit) : undefined;
    if (twin) {
      mergeInto(twin, item);
      const entry = ledger.entries[hit!]!;
      for (const l of item.links) if (!entry.urls.includes(l)) entry.urls.push(l);
      entry.urls.sort();
      continue;
    }
    if (hit !== null) {
      const entry = ledger.entries[hit]!;
      // Keep the id the item was first seen under, so an item whose GUID or link changed stays the same item.
      item.id = hit;
      for (const l of item.links) if (!entry.urls.includes(l)) entry.urls.push(l);
      entry.urls.sort();
      if (!entry.guid && item.guid) entry.guid = item.guid;
      // An edit (same identity, new text) is not a new item; the hash is updated so the next edit is seen.
      entry.contentHash = item.contentHash;
      index.add(hit, entry);
      if (entry.issueId === null) items.push(item);
      else if (entry.issueId !== BEFORE_BACKFILL) known.push(item);
    } else {
      const key = primaryKeyOf(item);
      const id = itemIdOf(key);
      item.id = id;
      const entry: LedgerEntry = { key, firstSeen: nowIso, issueId: null, contentHash: item.contentHash, urls: [...item.links].sort(), guid: item.guid };
      ledger.entries[id] = entry;
      index.add(id, entry);
      items.push(item);
    }
    byId.set(item.id, item);
    if (entryIsNew(ledger.entries[item.id]!)) newBySource.set(item.sourceId, (newBySource.get(item.sourceId) ?? 0) + 1);
  }

  // Health: one line per feed and per dropped file.
  for (const item of files.items) {
    const n = newBySource.get(item.sourceId) ?? 0;
    health.push({ sourceId: item.sourceId, origin: item.origin, status: n > 0 ? 'new' : 'unchanged', newItems: n, totalItems: 1, error: null, lastSuccess: nowIso, consecutiveFailures: 0 });
  }
  for (const p of files.problems) {
    if (files.items.some((i) => p.origin.startsWith(i.sourceId + ':'))) continue;
    const file = p.origin.replace(/:\d+$/, '');
    if (health.some((h) => h.sourceId === file)) continue;
    health.push({ sourceId: file, origin: file, status: 'failed', newItems: 0, totalItems: 0, error: `${p.code}: ${p.message}`, lastSuccess: null, consecutiveFailures: 1 });
  }
  for (const o of outcomes) {
    const st = ledger.feeds[o.feed.id]!;
    const n = newBySource.get(o.feed.id) ?? 0;
    health.push({
      sourceId: o.feed.id,
      origin: redactUrl(o.feed.url),
      status: o.status === 'failed' ? 'failed' : n > 0 ? 'new' : 'unchanged',
      newItems: n,
      totalItems: feedItemCounts.get(o.feed.id) ?? 0,
      error: o.error,
      lastSuccess: st.lastSuccess,
      consecutiveFailures: st.consecutiveFailures,
    });
  }

  return { gathered: { items, known, problems, health }, ledger };
}

function entryIsNew(entry: LedgerEntry): boolean {
  return entry.issueId === null;
}

/** Record that `items` went out in issue `issueId` (pure: returns a new ledger). Earlier issue ids are kept. */
export function markIssued(ledger: SeenLedger, items: SourceItem[], issueId: string): SeenLedger {
  const out: SeenLedger = structuredClone(ledger);
  for (const item of items) {
    let entry = out.entries[item.id];
    if (!entry) {
      const key = primaryKeyOf(item);
      entry = { key, firstSeen: item.date ?? '', issueId: null, contentHash: item.contentHash, urls: [...item.links].sort(), guid: item.guid };
      out.entries[item.id] = entry;
    }
    if (entry.issueId === null) entry.issueId = issueId;
  }
  return out;
}

/** Throw if nothing at all could be gathered (every source failed and there is nothing to work with). */
export function assertSomethingGathered(g: Gathered): void {
  if (g.items.length === 0 && g.known.length === 0 && g.health.length > 0 && g.health.every((h) => h.status === 'failed')) {
    throw new DigestError('NOTHING_USABLE', 'every source failed; nothing was gathered', { hint: 'see the problems listed above for each source' });
  }
}
