import * as cryptoModule from 'node:crypto';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DigestError } from '../errors.js';

/**
 * The seen-ledger (digests/seen.json) remembers every item gather has seen and which issue carried it,
 * plus per-feed HTTP state (ETag, Last-Modified) and health. It is committed to git with the digests,
 * so it is written with sorted keys to keep diffs small.
 *
 * An item is identified by, in order: its canonical URL (tracking parameters, fragment and trailing slash
 * removed), its GUID (or a dropped file's path), its content hash. All three are indexed, so an item whose
 * GUID was regenerated, or whose link gained tracking parameters, is still recognized.
 */
export interface LedgerEntry {
  /** The identity the entry was created under: `url:…`, `guid:…`, `file:…` or `hash:…`; `cited:<id>` for an
   *  item an issue cites that healSeenLedger could not key (no link, no path): it matches no item. */
  key: string;
  firstSeen: string;
  /** The issue that carried it; null while seen but not yet in an issue. */
  issueId: string | null;
  contentHash: string;
  urls: string[];
  guid: string | null;
}

export interface FeedState {
  etag: string | null;
  lastModified: string | null;
  lastSuccess: string | null;
  consecutiveFailures: number;
  lastError: string | null;
}

export interface SeenLedger {
  version: 1;
  /** Keyed by SourceItem.id (a hash of the entry's key). */
  entries: Record<string, LedgerEntry>;
  /** Keyed by feed id. */
  feeds: Record<string, FeedState>;
  /**
   * The issue being published: set in the ledger written just before that issue's record, absent from the one
   * written after. Found on start, it tells healSeenLedger which of the two writes a stopped run got to.
   */
  pending?: string;
}

export function emptyLedger(): SeenLedger {
  return { version: 1, entries: {}, feeds: {} };
}

const TRACKING_PARAMS = /^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref|ref_src|_hsenc|_hsmi)$/i;

/**
 * The canonical form of a link: http(s) only, host lower-cased, no credentials, no fragment, no tracking
 * parameters (utm_*, fbclid, gclid, ref, …), remaining parameters sorted, no trailing slash.
 * Returns null for anything that is not an http(s) URL.
 */
export function canonicalUrl(raw: string): string | null {
  // The same links come back many times per run (parse, duplicate check, ledger index): parse each once.
  const hit = canonicalCache.get(raw);
  if (hit !== undefined) return hit;
  const out = canonicalize(raw);
  if (canonicalCache.size >= 50_000) canonicalCache.clear();
  canonicalCache.set(raw, out);
  return out;
}
const canonicalCache = new Map<string, string | null>();

function canonicalize(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // Each URL setter re-serializes the whole URL: only call the ones that change something.
  // An empty fragment or query (a bare '#' or '?') reads as '' but is still in the URL.
  if (url.hash !== '' || url.href.endsWith('#')) url.hash = '';
  if (url.username !== '') url.username = '';
  if (url.password !== '') url.password = '';
  if (url.search !== '' || url.href.includes('?')) {
    const kept = [...url.searchParams.entries()].filter(([k]) => !TRACKING_PARAMS.test(k));
    kept.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    url.search = '';
    for (const [k, v] of kept) url.searchParams.append(k, v);
  }
  if (url.pathname.length > 1 && url.pathname.endsWith('/')) url.pathname = url.pathname.replace(/\/+$/, '');
  let out = url.toString();
  if (url.pathname === '/' && url.search === '') out = out.replace(/\/$/, '');
  return out;
}

/** The ledger key of a canonical URL: scheme dropped, because feeds move from http to https. */
export function urlKey(canonical: string): string {
  return 'url:' + canonical.replace(/^https?:\/\//, '');
}

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: ~3× faster on short keys.
const oneShot = (cryptoModule as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

export function sha256(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Characters that NFKC leaves alone whatever surrounds them (normalization quick-check "yes", combining
 * class 0, never the second half of a composition): ASCII, the Latin-1 letters and the typographic quotes
 * and dashes that most English feed text is made of. A text of only these needs no NFKC pass, which is the
 * expensive part of hashing (test/gather/ledger.test.ts checks the set against String.normalize).
 */
// eslint-disable-next-line no-control-regex
export const NFKC_STABLE = /^[\u0000-\u007f\u00c0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d]*$/;

/**
 * Every run of whitespace except a lone space (which would be replaced by itself): the same result as
 * /\s+/g → ' ', about five times faster on prose, where nearly every run is one space.
 */
export const WHITESPACE_RUN = / \s+|[^\S ]\s*/g;

/**
 * Runs of NFKC_STABLE characters other than whitespace, one apart by a space, a newline or a blank line, with
 * nothing around them: htmlToText's usual output (and most titles). For such a text the only change
 * normalizing makes is each newline or blank line becoming a space, a replace with few matches, where
 * WHITESPACE_RUN is a slower scan (together with NFKC_STABLE a tenth of gather's time on the bench week). Every
 * repetition starts with a separator no run contains, so the pattern matches or fails in linear time.
 */
const PLAIN_TEXT = /^[!-~\u00c0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d]+(?:(?: |\n\n?)[!-~\u00c0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d]+)*$/;

/** A separator of PLAIN_TEXT other than a space: a newline or a blank line. */
const PLAIN_BREAK = /\n\n?/g;

/** Text normalized for hashing: Unicode NFKC, whitespace collapsed, trimmed. */
export function normalizeForHash(text: string): string {
  if (PLAIN_TEXT.test(text)) return text.replace(PLAIN_BREAK, ' ');
  const nfkc = NFKC_STABLE.test(text) ? text : text.normalize('NFKC');
  return nfkc.replace(WHITESPACE_RUN, ' ').trim();
}

/** The length of each hashed text once normalized, by hash: whether it is long enough to identify an item. */
const normalizedLengthByHash = new Map<string, number>();

export function contentHashOf(text: string): string {
  const normalized = normalizeForHash(text);
  const hash = sha256(normalized);
  if (normalizedLengthByHash.size >= 100_000) normalizedLengthByHash.clear();
  normalizedLengthByHash.set(hash, normalized.length);
  return hash;
}

/** Whether `text` (whose contentHashOf is `hash`) is long enough for its hash to identify an item. */
export function isHashable(text: string, hash: string): boolean {
  const n = normalizedLengthByHash.get(hash) ?? normalizeForHash(text).length;
  return n >= MIN_HASHABLE_CHARS;
}

/** Short texts ("Read more…") are shared by unrelated items, so their hash must not identify an item. */
export const MIN_HASHABLE_CHARS = 40;

export interface ItemIdentity {
  url: string | null; // canonical
  guid: string | null;
  /** For dropped files: the path relative to sources/, used like a GUID. */
  file?: string | null;
  title: string;
  text: string;
  /** contentHashOf(text), when already known (saves normalizing the text again). */
  contentHash?: string;
}

/** The primary key of an item: a dropped file's path, else canonical URL, else GUID, else hash of title and text. */
export function ledgerKeyOf(id: ItemIdentity): string {
  // A dropped file is its own document even when it cites a URL other notes cite too (two notes on one
  // interview): its path identifies it, not the link.
  if (id.file) return 'file:' + id.file;
  if (id.url) return urlKey(id.url);
  if (id.guid) return 'guid:' + id.guid.trim();
  return 'hash:' + sha256(normalizeForHash(id.title) + '\n' + (id.contentHash ?? contentHashOf(id.text)));
}

/** SourceItem.id: stable, short, derived from the ledger key. */
export function itemIdOf(key: string): string {
  // parseFeed derives each item's id and gather derives it again from the same key when it records the
  // item: remember the last run's ids rather than hash every key twice.
  const hit = idCache.get(key);
  if (hit !== undefined) return hit;
  const id = sha256(key).slice(0, 16);
  if (idCache.size >= 50_000) idCache.clear();
  idCache.set(key, id);
  return id;
}
const idCache = new Map<string, string>();

/** Lookup tables over the ledger's entries, for recognizing an item by any of its identities. */
export class LedgerIndex {
  private readonly byAny = new Map<string, string>();

  constructor(entries: Record<string, LedgerEntry>) {
    for (const id of Object.keys(entries).sort()) this.add(id, entries[id]!);
  }

  add(id: string, entry: LedgerEntry): void {
    this.put(entry.key, id);
    for (const u of entry.urls) {
      const c = canonicalUrl(u);
      if (c) this.put(urlKey(c), id);
    }
    if (entry.guid) this.put('guid:' + entry.guid.trim(), id);
    this.put('content:' + entry.contentHash, id);
  }

  private put(k: string, id: string): void {
    if (!this.byAny.has(k)) this.byAny.set(k, id);
  }

  /** The entry id matching any identity of the item, or null. */
  find(keys: string[]): string | null {
    for (const k of keys) {
      const hit = this.byAny.get(k);
      if (hit !== undefined) return hit;
    }
    return null;
  }
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) {
      out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return value;
}

/** The ledger as written to disk: sorted keys, two-space indent, trailing newline. */
export function formatLedger(ledger: SeenLedger): string {
  return JSON.stringify(sortKeysDeep(ledger), null, 2) + '\n';
}

function corrupt(file: string, message: string, cause?: unknown): DigestError {
  return new DigestError('LEDGER_CORRUPT', message, {
    origin: file,
    hint: `fix the file by hand (git log -p ${file} shows earlier versions), or move it away to start afresh (every item in the feeds will then count as new, within gather.backfillDays)`,
    cause,
  });
}

/** Parse and validate the ledger's JSON text. `file` is only used in error messages. */
export function parseSeenLedger(text: string, file: string): SeenLedger {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
    const where = m ? `${file}:${text.slice(0, Number(m[1])).split('\n').length}` : file;
    throw corrupt(where, `the seen-ledger is not valid JSON (${err instanceof Error ? err.message : String(err)})`, err);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw corrupt(file, 'the seen-ledger is not a JSON object');
  const obj = data as Record<string, unknown>;
  if (obj.version !== 1) throw corrupt(file, `the seen-ledger has version ${JSON.stringify(obj.version)}, expected 1`);
  const entries = obj.entries;
  const feeds = obj.feeds;
  if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) throw corrupt(file, 'the seen-ledger has no "entries" object');
  if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds)) throw corrupt(file, 'the seen-ledger has no "feeds" object');
  if (obj.pending !== undefined && (typeof obj.pending !== 'string' || obj.pending === '')) throw corrupt(file, 'the seen-ledger\'s "pending" is not an issue id');
  for (const [id, e] of Object.entries(entries as Record<string, unknown>)) {
    const en = e as Partial<LedgerEntry> | null;
    if (!en || typeof en.key !== 'string' || typeof en.contentHash !== 'string' || !Array.isArray(en.urls) || typeof en.firstSeen !== 'string') {
      throw corrupt(file, `the seen-ledger entry "${id}" is incomplete (needs key, firstSeen, contentHash, urls)`);
    }
    if (en.issueId === undefined) en.issueId = null;
    if (en.guid === undefined) en.guid = null;
  }
  for (const [id, f] of Object.entries(feeds as Record<string, unknown>)) {
    const fs = f as Partial<FeedState> | null;
    if (!fs || typeof fs !== 'object') throw corrupt(file, `the seen-ledger feed state "${id}" is not an object`);
    fs.etag ??= null;
    fs.lastModified ??= null;
    fs.lastSuccess ??= null;
    fs.lastError ??= null;
    if (typeof fs.consecutiveFailures !== 'number') fs.consecutiveFailures = 0;
  }
  return data as SeenLedger;
}

/** What healing needs of an issue record (a Digest): its id, when it was made, and the items it cites. */
export interface RecordedIssue {
  id: string;
  publishedAt: string;
  sources: ReadonlyArray<{ itemId: string; url: string | null; origin: string }>;
}

/** One repair healSeenLedger made. */
export interface HealedIssue {
  issueId: string;
  /**
   * `completed`: the ledger was written for the issue (`pending`) and so was its record; only the last ledger
   * write was missing. `rolled-back`: the ledger was written for the issue but its record never was: its
   * items are unissued again, so the rerun makes the issue afresh. `marked`: a record cites items the ledger
   * did not show as issued (a record written before the ledger, as runs did before `pending` existed).
   */
  action: 'completed' | 'rolled-back' | 'marked';
  /** Entries whose issueId this repair set or cleared. */
  items: number;
  /** `marked` only: items that had no entry and no link or path to key one by (a feed entry known only by its
   *  GUID), marked under a `cited:` key: reported once, but not recognizable if the feed offers them again. */
  unkeyable: number;
}

/**
 * Bring the seen ledger in line with the issue records in digests/, for a run that stopped between writing
 * the two (SIGKILL, a full disk, a cancelled job). Pure: returns a new ledger (the same object when nothing
 * needed repair) and what was repaired. The pipeline writes the ledger with `pending` set before a record and
 * without it after, so:
 *   - `pending` names an issue whose record exists: the run stopped after the record; the marks stand.
 *   - `pending` names an issue with no record: the run stopped before the record; every entry marked with
 *     that issue is unissued again, exactly as before that run, and the issue is made afresh.
 * Then every record's cited items must be marked as issued; any that are not (an entry unissued or missing)
 * are marked with the oldest record citing them, a missing entry made from the record's source (keyed by its
 * path for a dropped file, else by its link) and dated with the record's publishedAt. A ledger that names an
 * issue with no record and no `pending` (a record deleted by hand) is left alone: healing only ever marks,
 * except to undo the one write it can prove was never followed by its record.
 */
export function healSeenLedger(ledger: SeenLedger, records: readonly RecordedIssue[]): { ledger: SeenLedger; healed: HealedIssue[] } {
  let out: SeenLedger | null = null;
  const edit = (): SeenLedger => (out ??= structuredClone(ledger));
  const healed: HealedIssue[] = [];
  const pending = ledger.pending;
  if (pending !== undefined) {
    const ledgerNow = edit();
    delete ledgerNow.pending;
    if (records.some((r) => r.id === pending)) healed.push({ issueId: pending, action: 'completed', items: 0, unkeyable: 0 });
    else {
      let items = 0;
      for (const entry of Object.values(ledgerNow.entries)) {
        if (entry.issueId !== pending) continue;
        entry.issueId = null;
        items++;
      }
      healed.push({ issueId: pending, action: 'rolled-back', items, unkeyable: 0 });
    }
  }
  for (const record of records) {
    let items = 0;
    let unkeyable = 0;
    for (const source of record.sources) {
      const current = (out ?? ledger).entries[source.itemId];
      if (current && current.issueId !== null) continue;
      const entries = edit().entries;
      const existing = entries[source.itemId];
      if (existing) existing.issueId = record.id;
      else {
        const key = keyOfSource(source);
        if (key === null) unkeyable++;
        const canonical = source.url ? canonicalUrl(source.url) : null;
        entries[source.itemId] = {
          key: key ?? `cited:${source.itemId}`, firstSeen: record.publishedAt, issueId: record.id, contentHash: '',
          urls: canonical ? [canonical] : [], guid: null,
        };
      }
      items++;
    }
    if (items) healed.push({ issueId: record.id, action: 'marked', items, unkeyable });
  }
  return { ledger: out ?? ledger, healed };
}

/** The ledger key gather gives a cited item: a dropped file's path (its origin is not a URL), else its link. */
function keyOfSource(source: { url: string | null; origin: string }): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source.origin)) return 'file:' + source.origin;
  const canonical = source.url ? canonicalUrl(source.url) : null;
  return canonical ? urlKey(canonical) : null;
}

export const LEDGER_FILE = 'seen.json';

/** Read digests/seen.json. A missing file is an empty ledger; a corrupt one is LEDGER_CORRUPT. */
export async function readSeenLedger(digestsDir: string): Promise<SeenLedger> {
  const file = path.join(digestsDir, LEDGER_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyLedger();
    throw corrupt(file, `the seen-ledger cannot be read (${(err as Error).message})`, err);
  }
  return parseSeenLedger(text, file);
}

/** Write digests/seen.json atomically: a temporary file in the same folder, then rename over the old one. */
export async function writeSeenLedger(digestsDir: string, ledger: SeenLedger): Promise<void> {
  await mkdir(digestsDir, { recursive: true });
  const file = path.join(digestsDir, LEDGER_FILE);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, formatLedger(ledger), 'utf8');
  await rename(tmp, file);
}
