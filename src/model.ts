/**
 * The data that passes between the stages of debate-digest.
 *
 *   sources/ ──gather──▶ SourceItem[] ──analyze──▶ Analysis ──compose──▶ Digest ──render──▶ Rendered
 *                                                                  │                 ├─▶ digests/ (publish)
 *                                                                  │                 ├─▶ _site/   (archive)
 *                                                                  └─────────────────┴─▶ outbox/ or SMTP (deliver)
 *
 * This file imports nothing. Every stage imports its types from here; read it with src/pipeline.ts to see
 * the whole system.
 */

// ───────────────────────────── configuration (normalized: every field set) ─────────────────────────────

/** The debate's sides. `research`: scaling has run its course; `scaling`: scaling still works;
 *  `paradigm`: the paradigm itself is the problem; `neutral`: reports without taking a side. */
export type Stance = 'research' | 'scaling' | 'paradigm' | 'neutral';
export const STANCES: readonly Stance[] = ['research', 'scaling', 'paradigm', 'neutral'];

/** A feed we follow (sources/feeds.yaml). */
export interface FeedConfig {
  /** Short stable id used in the ledger and the run report; defaults to the URL's host + path. */
  id: string;
  url: string;
  title: string;
  /** Prior stance of the feed's author(s); `neutral` by default. */
  stance: Stance;
  /** Speakers the feed usually quotes or is written by (ids from speakers.yaml). */
  speakers: string[];
  /** True when the feed publishes primary material (transcripts). Default false. */
  primary: boolean;
}

/** A theme of the debate (sources/themes.yaml). */
export interface ThemeConfig {
  id: string;
  title: string;
  description: string;
  /** Words and phrases that signal the theme (matched case-insensitively on word boundaries). */
  cues: string[];
}

/** A person in the debate (sources/speakers.yaml). */
export interface SpeakerConfig {
  id: string;
  name: string;
  /** Other spellings that mean this person: short names, handles, common misspellings ("Sutsekver"). */
  aliases: string[];
  role: string;
  /** Where the speaker usually stands; used as a prior, never as the only signal. Default `neutral`. */
  stance: Stance;
  /** Interviewers ask more than they claim; their quotes rank lower. Default false. */
  interviewer: boolean;
}

export interface SiteConfig {
  title: string;
  description: string;
  /** Absolute URL of the archive, without the base path, e.g. https://example.github.io */
  url: string;
  /** Path prefix when served from a sub-folder, e.g. /debate-digest/ ; "/" by default. */
  basePath: string;
  language: string;
  /** IANA time zone issue dates are computed in. Default UTC. */
  timeZone: string;
  author: string;
  /** Subscription service (see `digest serve`); when unset, the subscribe page shows feeds only. */
  subscribeUrl: string | null;
}

export interface EmailConfig {
  from: string;
  replyTo: string | null;
  /** RFC 2919 List-Id, e.g. "debate-digest.example.org". */
  listId: string;
  /** https endpoint for RFC 8058 one-click unsubscribe; the token is appended as ?token=. */
  unsubscribeUrl: string | null;
  unsubscribeMailto: string | null;
  /** Postal address or sender identity line shown in the footer. */
  senderLine: string;
  /** Budget for the HTML part in bytes (Gmail clips at about 102 KB). Default 90_000. */
  maxHtmlBytes: number;
  /** Messages per second through SMTP; 0 for no limit. */
  rateLimitPerSecond: number;
}

export interface GatherConfig {
  timeoutMs: number;
  connectTimeoutMs: number;
  maxBytes: number;
  maxItemsPerFeed: number;
  maxRedirects: number;
  /** First run takes items at most this many days old. Default 30. */
  backfillDays: number;
  /** Hosts allowed even when they resolve to private/loopback addresses (tests: 127.0.0.1). */
  allowPrivateHosts: string[];
  perHostConcurrency: number;
  userAgent: string;
  /** A source that has failed this many runs in a row is flagged in the report. Default 3. */
  failingAfterRuns: number;
}

export interface AnalyzeConfig {
  /** Attribution confidence under which a quote is shown "as quoted by <source>". Default 0.6. */
  attributionThreshold: number;
  /** Counterpoints under this confidence are not shown. Default 0.35. */
  counterpointThreshold: number;
  /** Quotes in one issue. Default 24. */
  maxQuotes: number;
  /** Quotes per theme in one issue. Default 4. */
  maxQuotesPerTheme: number;
  /** Counterpoints an editor set by hand (settings.yaml `analyze.pairs`); they replace the analyzer's pick. */
  pairs?: EditorPair[];
}

/** A claim and its answer, both given as words copied from the sources. */
export interface EditorPair {
  /** The start of the key quote it answers. */
  quote: string;
  /** The answering words, verbatim from a source. */
  counter: string;
  /** Where the editor wrote it (`sources/settings.yaml:<line>`), for problems. */
  origin: string;
}

export interface Config {
  site: SiteConfig;
  email: EmailConfig;
  feeds: FeedConfig[];
  themes: ThemeConfig[];
  speakers: SpeakerConfig[];
  gather: GatherConfig;
  analyze: AnalyzeConfig;
}

// ───────────────────────────── problems: what went wrong, where, what to do ─────────────────────────────

/** A non-fatal problem, listed in the run report. Fatal ones are thrown as DigestError (src/errors.ts). */
export interface Problem {
  /** Permanent code, e.g. FEED_FETCH_FAILED, FRONT_MATTER_INVALID. */
  code: string;
  /** Where: feed URL without credentials, or `file:line`. */
  origin: string;
  message: string;
  hint: string;
}

// ───────────────────────────── gather ─────────────────────────────

/** One thing read from a source: a feed entry or a dropped file. Its `text` is what quote offsets index. */
export interface SourceItem {
  /** Stable id: hash of the ledger key (canonical URL, else GUID, else content hash). */
  id: string;
  kind: 'feed' | 'file';
  /** Feed id (from feeds.yaml) or file path relative to the sources folder. */
  sourceId: string;
  /** Where it was read: file path, or feed URL without credentials. Quotes cite this. */
  origin: string;
  /** Link to where it was published (canonical), if known. */
  url: string | null;
  /** Every link this item was seen at (a post syndicated twice keeps both). */
  links: string[];
  guid: string | null;
  title: string;
  author: string | null;
  /** ISO 8601; null when missing or unparseable (then `dateProblem` says which). */
  date: string | null;
  dateProblem: 'missing' | 'invalid' | null;
  /** Speaker ids declared by front matter or feed config. */
  speakers: string[];
  /** Declared stance of the whole source, if any. */
  stance: Stance | null;
  /** A primary source (transcript of what was said) rather than a report of it. */
  primary: boolean;
  /** Plain text: the exact characters quote offsets refer to. */
  text: string;
  /** Sanitized HTML, when the source was HTML (for display only; never quoted from). */
  html: string | null;
  /** sha256 of the normalized text, for the seen-ledger and edit detection. */
  contentHash: string;
}

/** Health of one source in one run. */
export interface SourceHealth {
  sourceId: string;
  origin: string;
  status: 'new' | 'unchanged' | 'failed';
  newItems: number;
  totalItems: number;
  error: string | null;
  lastSuccess: string | null;
  consecutiveFailures: number;
}

/** What gather hands on. */
export interface Gathered {
  /** Items not seen in an earlier issue. */
  items: SourceItem[];
  /** Items seen before but still available (analysis may use them for corroboration and counterpoints). */
  known: SourceItem[];
  problems: Problem[];
  health: SourceHealth[];
}

// ───────────────────────────── analyze ─────────────────────────────

export type QuoteKind = 'direct' | 'fragment' | 'quote-of-quote';
export type VerbatimStatus = 'verified' | 'corroborated' | 'single-source' | 'paraphrase';
/** How a speaker was found; `context` is the one person a paragraph names before an unattributed quote. */
export type AttributionMethod = 'label' | 'dash' | 'verb-name' | 'verb-pronoun' | 'context' | 'declared' | 'none';

/** Where a quote's words stand in one source. `text === item.text.slice(start, end)`, always. */
export interface Citation {
  itemId: string;
  /** The source's origin (path or URL) as in SourceItem.origin. */
  source: string;
  url: string | null;
  title: string;
  start: number;
  end: number;
}

export interface Quote {
  /** Stable id (hash of normalized words) used for anchors: stays the same across rebuilds. */
  id: string;
  /** Verbatim: equals the source text between start and end. */
  text: string;
  /** Speaker id, or null when attribution fell below the threshold ("as quoted by <source>"). */
  speaker: string | null;
  attribution: { method: AttributionMethod; confidence: number };
  /** The citation the text, start and end are taken from. */
  source: string;
  itemId: string;
  url: string | null;
  start: number;
  end: number;
  kind: QuoteKind;
  themes: string[];
  stance: Stance;
  status: VerbatimStatus;
  /** Every source that holds these words (the first is the one above). */
  citations: Citation[];
  /** Higher is more worth showing. */
  score: number;
}

/** A passage from the other side set against a quote. */
export interface Counterpoint {
  /** The quote it answers. */
  quoteId: string;
  /** The answering passage: a quote id when it is one, else null. */
  counterQuoteId: string | null;
  text: string;
  speaker: string | null;
  source: string;
  itemId: string;
  url: string | null;
  start: number;
  end: number;
  stance: Stance;
  confidence: number;
  /** Why it was chosen, in words a reader understands. */
  reason: string;
}

export interface Analysis {
  quotes: Quote[];
  counterpoints: Counterpoint[];
  /** Token count of the analyzed text, for the benchmark. */
  tokens: number;
  /** Editor pairs that could not be applied (one side found in this issue's sources, the other not). */
  problems?: Problem[];
}

// ───────────────────────────── compose ─────────────────────────────

export interface DigestSource {
  itemId: string;
  title: string;
  url: string | null;
  origin: string;
  author: string | null;
  date: string | null;
}

export interface DigestSpeaker {
  id: string;
  name: string;
  role: string;
}

export interface DigestCounterpoint extends Counterpoint {
  speakerName: string | null;
  sourceTitle: string;
}

export interface DigestQuote extends Quote {
  /** Display name, or null when unattributed. */
  speakerName: string | null;
  sourceTitle: string;
  counterpoints: DigestCounterpoint[];
}

export interface DigestSection {
  themeId: string;
  title: string;
  description: string;
  quotes: DigestQuote[];
}

/** One issue: the record in digests/ that email, pages and feeds are all rendered from. */
export interface Digest {
  /** Record format, bumped on incompatible change. */
  schema: 1;
  /** e.g. "2026-11-30-3": the record's file name without .json; also the issue's URL slug. */
  id: string;
  number: number;
  /** ISO date (yyyy-mm-dd) in the configured time zone. */
  date: string;
  /** The schedule slot this issue fills (ISO week, e.g. "2026-W49"): one issue per slot. */
  slot: string;
  /** ISO timestamp of the run that made it (`now`). */
  publishedAt: string;
  title: string;
  subject: string;
  preheader: string;
  intro: string;
  sections: DigestSection[];
  sources: DigestSource[];
  speakers: DigestSpeaker[];
  stats: { items: number; quotes: number; themes: number; counterpoints: number; trimmed: number };
}

// ───────────────────────────── render ─────────────────────────────

/** The email rendered once per issue, with placeholders for the per-recipient parts. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  htmlBytes: number;
  /** Quotes dropped to fit the size budget. */
  trimmed: number;
  /** Placeholder strings that `personalize` replaces per recipient. */
  placeholders: { unsubscribeUrl: string };
}

// ───────────────────────────── deliver ─────────────────────────────

export interface Subscriber {
  /** Normalized address (trimmed, domain lower-cased). Never printed: use `masked`. */
  email: string;
  masked: string;
  /** sha256 of list id and address: the key in the send ledger. */
  hash: string;
}

export type SendState = 'attempting' | 'sent' | 'failed' | 'unknown' | 'deferred';

export interface SendRecord {
  issueId: string;
  recipient: string; // Subscriber.hash
  state: SendState;
  at: string;
  attempts: number;
  responseCode: number | null;
  error: string | null;
  messageId: string;
}

export interface DeliverySummary {
  transport: string;
  written: number;
  sent: number;
  skipped: number;
  failed: number;
  unknown: number;
  deferred: number;
}

// ───────────────────────────── the run ─────────────────────────────

export interface RunReport {
  ok: boolean;
  dryRun: boolean;
  /** The issue made or resumed, or null when nothing was new. */
  issue: { id: string; number: number; subject: string; url: string } | null;
  nothingNew: boolean;
  gathered: number;
  newItems: number;
  quotes: number;
  themes: number;
  pages: number;
  delivery: DeliverySummary | null;
  health: SourceHealth[];
  problems: Problem[];
}
