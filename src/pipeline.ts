/**
 * The order of the stages, and the only place that knows it. The CLI and the GitHub workflow call these
 * functions; each stage is a function of data (src/model.ts) except gather, publish and deliver, which touch
 * files, the network and SMTP.
 *
 *   make:  heal the seen ledger from the records → gather → analyze → compose → (render check)
 *          → publish the record + seen ledger
 *   site:  records in digests/ → Eleventy archive + Atom/JSON feeds in _site/
 *   send:  record → render once → deliver per recipient (outbox or SMTP, the recipient's links spliced in) with a send ledger
 *   run:   make, then site, then send
 */
import path from 'node:path';
import { analyze, selectQuotes } from './analyze/index.js';
import { composeDigest, issueSlot } from './compose/digest.js';
import { readConfig } from './config.js';
import { DigestError } from './errors.js';
import { gather, markIssued } from './gather/index.js';
import { healSeenLedger, LEDGER_FILE, readSeenLedger, writeSeenLedger } from './gather/ledger.js';
import type { Config, DeliverySummary, Digest, Problem, RenderedEmail, RunReport, SourceItem } from './model.js';
import type { SeenLedger } from './gather/index.js';
import { readRecords, writeRecord } from './publish/records.js';
import { buildSite, issueUrl } from './render/archive.js';
import { renderEmail } from './render/email.js';
import { deliver, requireSmtpSecret, sendTest } from './deliver/send.js';
import { readSubscribers } from './deliver/subscribers.js';
import { createTransport } from './deliver/transports.js';
import { readExportedSubscribers } from './serve/client.js';

export interface Paths {
  sourcesDir: string;
  digestsDir: string;
  siteDir: string;
  outboxDir: string;
}

/** One line per stage as it finishes; the CLI prints these unless --quiet. */
export type Progress = (stage: string, detail: string, ms: number) => void;

export interface RunOptions extends Paths {
  now: Date;
  dryRun: boolean;
  /** Make an issue even when nothing is new. */
  force: boolean;
  env: NodeJS.ProcessEnv;
  progress?: Progress;
  /** Informational lines (dry-run plans, notices). */
  log?: (line: string) => void;
}

async function timed<T>(progress: Progress | undefined, stage: string, work: () => Promise<T>, describe: (r: T) => string): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  progress?.(stage, describe(result), performance.now() - t0);
  return result;
}

const emptyReport = (dryRun: boolean): RunReport => ({
  ok: true, dryRun, issue: null, nothingNew: false, gathered: 0, newItems: 0, quotes: 0, themes: 0, pages: 0,
  delivery: null, health: [], problems: [],
});

export interface MadeIssue {
  report: RunReport;
  digest: Digest | null;
  config: Config;
  /** The new issue's email, rendered once; sending reuses it. */
  rendered: RenderedEmail | null;
}

/** A delivery needs attention (exit 1) when anyone was refused, deferred to a later run, or is in doubt. */
export function deliveryIncomplete(d: DeliverySummary | null): boolean {
  return Boolean(d && d.failed + d.deferred + d.unknown > 0);
}

/**
 * What a real send needs, checked before anything is written, so a run that cannot deliver leaves digests/
 * untouched: a valid transport, and with SMTP an unsubscribe secret and a subscriber list of our own (never
 * the example.com sample).
 */
export function checkDelivery(env: NodeJS.ProcessEnv, opts: { needsList: boolean; outboxDir: string }): void {
  // The transport deliver would use (so a blank SMTP_URL means the outbox here as there), only to check it.
  const transport = createTransport(env, { outboxDir: opts.outboxDir, rateLimitPerSecond: 0 });
  transport.close().catch(() => undefined);
  if (transport.name !== 'smtp') return;
  requireSmtpSecret(env.UNSUBSCRIBE_SECRET);
  if (opts.needsList && !env.SUBSCRIBERS && !env.SUBSCRIBERS_FILE && !env.SUBSCRIBERS_URL)
    throw new DigestError('ENV_MISSING', 'SMTP_URL is set but no subscriber list is', {
      origin: 'environment',
      hint: 'set SUBSCRIBERS, SUBSCRIBERS_FILE or SUBSCRIBERS_URL; the sample list (example.com addresses) is only used with the outbox',
    });
}

/** gather → analyze → compose → publish. Writes `digests/<id>.json` and `digests/seen.json` (unless dry run). */
export async function makeIssue(opts: RunOptions): Promise<MadeIssue> {
  const { progress, now } = opts;
  const config = await readConfig(opts.sourcesDir, opts.env);
  const report = emptyReport(opts.dryRun);
  const records = await readRecords(opts.digestsDir);
  const stored = await readSeenLedger(opts.digestsDir).catch((err: unknown) => {
    throw err instanceof DigestError ? err : new DigestError('LEDGER_CORRUPT', String(err), { origin: path.join(opts.digestsDir, LEDGER_FILE), hint: 'restore it from git' });
  });
  // Before gather decides what is new: what a stopped run left half-written is settled first.
  const ledger = await healLedger(opts, stored, records, report);

  const { gathered, ledger: nextLedger } = await timed(
    progress, 'gather',
    () => gather({ config, sourcesDir: opts.sourcesDir, ledger, now }),
    (r) => `${r.gathered.items.length + r.gathered.known.length} items, ${r.gathered.items.length} new, from ${r.gathered.health.length} sources` +
      (r.gathered.problems.length ? `, ${r.gathered.problems.length} problems` : ''),
  );
  report.health = gathered.health;
  report.problems.push(...gathered.problems);
  report.gathered = gathered.items.length + gathered.known.length;
  report.newItems = gathered.items.length;

  const { slot } = issueSlot(now, config.site.timeZone);
  const existing = records.find((r) => r.slot === slot);
  if (existing) {
    report.nothingNew = true;
    report.issue = { id: existing.id, number: existing.number, subject: existing.subject, url: issueUrl(config, existing.id) };
    opts.log?.(`issue ${existing.id} already fills the slot ${slot}: no new issue (sending resumes it)`);
    await keepFeedState(opts, nextLedger);
    return { report, digest: null, config, rendered: null };
  }
  if (gathered.items.length === 0 && !opts.force) {
    report.nothingNew = true;
    if (report.gathered === 0 && gathered.problems.length > 0) {
      report.ok = false;
      report.problems.push({ code: 'NOTHING_USABLE', origin: opts.sourcesDir, message: 'no source produced anything usable', hint: 'see the problems above; check the network and sources/feeds.yaml' });
    }
    // Also when nothing was usable: that is when every feed's failures in a row must still count up.
    await keepFeedState(opts, nextLedger);
    return { report, digest: null, config, rendered: null };
  }
  const items: SourceItem[] = gathered.items.length ? gathered.items : gathered.known;

  const analysis = await timed(progress, 'analyze',
    async () => analyze(items, { themes: config.themes, speakers: config.speakers, analyze: config.analyze, known: gathered.known }),
    (a) => `${a.quotes.length} quotes, ${a.counterpoints.length} counterpoints, ${a.tokens} tokens`);
  report.problems.push(...(analysis.problems ?? []));

  const number = (records.at(-1)?.number ?? 0) + 1;
  const digest = await timed(progress, 'compose',
    async () => composeDigest({ analysis, selected: selectQuotes(analysis, config.analyze), items, known: gathered.known, config, number, now }),
    (d) => `issue #${d.number} (${d.id}): ${d.stats.quotes} quotes in ${d.stats.themes} themes`);
  report.quotes = digest.stats.quotes;
  report.themes = digest.stats.themes;
  report.issue = { id: digest.id, number: digest.number, subject: digest.subject, url: issueUrl(config, digest.id) };

  // Render before anything is written: a template error must leave digests/ untouched.
  const rendered = await renderIssueEmail(digest, config, progress);

  await timed(progress, 'publish', async () => {
    if (opts.dryRun) {
      opts.log?.(`dry run: would write ${path.join(opts.digestsDir, `${digest.id}.json`)} and ${path.join(opts.digestsDir, LEDGER_FILE)}`);
      return;
    }
    // Three writes, ordered so that a run stopped between any two leaves a state healLedger completes exactly:
    // 1. the ledger with the items marked as issued, `pending` naming this issue, and the feed state (ETags)
    //    as it was. Stopped here, there is no record: the marks are undone and the rerun, fetching the feeds
    //    in full, makes the issue afresh (marking before the record without `pending` would lose the items:
    //    issued in a record that never was, so never published and never new again);
    // 2. the record. Stopped here, the marks stand and only `pending` is cleared;
    // 3. the ledger with the new feed state and no `pending`.
    const issued = markIssued(nextLedger, items, digest.id);
    await writeSeenLedger(opts.digestsDir, { ...issued, feeds: ledger.feeds, pending: digest.id });
    await writeRecord(opts.digestsDir, digest);
    await writeSeenLedger(opts.digestsDir, issued);
  }, () => (opts.dryRun ? 'dry run: nothing written' : `record ${digest.id}.json and seen ledger written`));
  return { report, digest, config, rendered };
}

/**
 * The seen ledger as the records say it must be (healSeenLedger): a run that stopped between writing an issue's
 * record and the ledger would otherwise leave its items to be taken for new, and published again, next week;
 * one that stopped just before the record would leave them marked for an issue that never was. Repaired before
 * gather decides what is new, written at once (unless dry run) so the repair does not wait on the rest of the
 * run, and reported as a LEDGER_HEALED problem. The send ledger is not touched: an issue whose record exists
 * is resumed as before (the slot is filled), and one rolled back was never sent, since sending needs its record.
 */
async function healLedger(opts: RunOptions, ledger: SeenLedger, records: Digest[], report: RunReport): Promise<SeenLedger> {
  const { ledger: healed, healed: repairs } = healSeenLedger(ledger, records);
  if (repairs.length === 0) return healed;
  const origin = path.join(opts.digestsDir, LEDGER_FILE);
  const unwritten = opts.dryRun ? ' (dry run: not written)' : '';
  const items = (n: number) => `${n} ${n === 1 ? 'item' : 'items'}`;
  for (const h of repairs) {
    const problem = (message: string, hint: string) => report.problems.push({ code: 'LEDGER_HEALED', origin, message, hint });
    if (h.action === 'completed')
      problem(`a run stopped after writing issue ${h.issueId}'s record and before its last seen-ledger write: the ledger is completed${unwritten}, its items stay issued`, 'nothing to do');
    else if (h.action === 'rolled-back')
      problem(`a run stopped before writing issue ${h.issueId}'s record: the ${items(h.items)} it had marked as issued are unissued again${unwritten}, so this run makes the issue afresh`,
        'nothing to do; nothing was sent for it, since sending needs the record');
    else
      problem(`${items(h.items)} cited by issue ${h.issueId} ${h.items === 1 ? 'was' : 'were'} not marked as issued in the seen ledger (a run stopped between writing the record and the ledger): marked now${unwritten}, so they are not published again`,
        h.unkeyable ? `${items(h.unkeyable)} of them had neither a link nor a file path to be recognized by, and may come back as new once` : 'nothing to do; keep digests/seen.json with the records (commit both)');
  }
  if (!opts.dryRun) await writeSeenLedger(opts.digestsDir, healed);
  return healed;
}

/**
 * A run that makes no issue still records what it learned about the feeds (ETags, last success, failures in
 * a row), or a feed failing every week would never be flagged. Items stay unissued, so they are still new.
 */
async function keepFeedState(opts: RunOptions, ledger: SeenLedger): Promise<void> {
  if (!opts.dryRun) await writeSeenLedger(opts.digestsDir, ledger);
}

/** Build the archive from every record. */
export async function buildArchive(opts: Pick<RunOptions, 'digestsDir' | 'siteDir' | 'sourcesDir' | 'dryRun' | 'progress' | 'log' | 'env'> & { config?: Config }): Promise<number> {
  const config = opts.config ?? (await readConfig(opts.sourcesDir, opts.env));
  if (opts.dryRun) {
    opts.log?.(`dry run: would build the archive into ${opts.siteDir}`);
    return 0;
  }
  const { pages } = await timed(opts.progress, 'site', () => buildSite({ digestsDir: opts.digestsDir, siteDir: opts.siteDir, config, quiet: true, incremental: true }),
    (r) => `${r.pages} pages and feeds in ${opts.siteDir}`);
  return pages;
}

export interface SendOptions extends RunOptions {
  /** Issue id to send or resume; the latest by default. */
  issueId?: string;
  /** Send one test copy to this address, ledger untouched. */
  to?: string;
  /** The issue itself, when it is not (yet) in digests/: a dry run's unwritten issue. */
  digest?: Digest;
  /** Its email, when already rendered (by makeIssue): MJML runs once per issue. */
  rendered?: RenderedEmail;
  resendUnknown?: boolean;
}

/** Render the issue once and deliver it to every subscriber not yet sent, resuming from the send ledger. */
export async function sendIssue(opts: SendOptions & { config?: Config }): Promise<{ digest: Digest; delivery: DeliverySummary | null; problems: Problem[] }> {
  const config = opts.config ?? (await readConfig(opts.sourcesDir, opts.env));
  const records = opts.digest ? [opts.digest] : await readRecords(opts.digestsDir);
  const digest = opts.issueId ? records.find((r) => r.id === opts.issueId) : records.at(-1);
  if (!digest)
    throw new DigestError('ISSUE_NOT_FOUND', opts.issueId ? `no issue ${opts.issueId}` : 'there is no issue to send yet', {
      origin: opts.digestsDir,
      hint: opts.issueId ? `pick one of: ${records.map((r) => r.id).join(', ') || '(none)'}` : 'run `digest make` first',
    });
  checkDelivery(opts.env, { needsList: !opts.to, outboxDir: opts.outboxDir });
  const rendered = opts.rendered && opts.digest === digest ? opts.rendered : await renderIssueEmail(digest, config, opts.progress);
  const transport = createTransport(opts.env, { outboxDir: opts.outboxDir, rateLimitPerSecond: config.email.rateLimitPerSecond });
  try {
    if (opts.to) {
      await sendTest({ digest, rendered, config, to: opts.to, transport, env: opts.env, dryRun: opts.dryRun, log: opts.log });
      return { digest, delivery: null, problems: [] };
    }
    // Read afresh on every send, resumed ones included, so an unsubscribe since the last attempt is honoured.
    const { subscribers, problems } = opts.env.SUBSCRIBERS_URL
      ? await readExportedSubscribers(opts.env, config.email.listId)
      : await readSubscribers(opts.env, { file: path.join(opts.sourcesDir, 'subscribers.sample.csv'), listId: config.email.listId });
    const delivery = await timed(opts.progress, 'deliver',
      () => deliver({
        digest, rendered, config, subscribers, transport, ledgerDir: opts.digestsDir, now: opts.now, dryRun: opts.dryRun,
        resendUnknown: opts.resendUnknown ?? false, secret: opts.env.UNSUBSCRIBE_SECRET ?? null, log: opts.log, env: opts.env,
      }),
      (d) => `${d.transport}: ${d.written} written, ${d.sent} sent, ${d.skipped} already done, ${d.failed} failed` +
        (d.deferred ? `, ${d.deferred} deferred` : '') + (d.unknown ? `, ${d.unknown} unknown` : ''));
    return { digest, delivery, problems };
  } finally {
    await transport.close();
  }
}

/** The main job: make the issue (if anything is new), rebuild the archive, send. */
export async function run(opts: RunOptions): Promise<RunReport> {
  if (!opts.dryRun) checkDelivery(opts.env, { needsList: true, outboxDir: opts.outboxDir });
  const made = await makeIssue(opts);
  const { report, config } = made;
  if (!report.ok) return report;
  if (made.digest || report.issue) {
    report.pages = await buildArchive({ ...opts, config });
  }
  if (report.issue) {
    const sent = await sendIssue({ ...opts, config, issueId: report.issue.id, digest: made.digest ?? undefined, rendered: made.rendered ?? undefined });
    report.delivery = sent.delivery;
    report.problems.push(...sent.problems);
    if (deliveryIncomplete(sent.delivery)) report.ok = false;
  }
  return report;
}

/** The issue's email, rendered once (MJML), with the web and archive links it points to. */
function renderIssueEmail(digest: Digest, config: Config, progress: RunOptions['progress']): Promise<RenderedEmail> {
  return timed(progress, 'render', () => renderEmail(digest, config, { webUrl: issueUrl(config, digest.id), archiveUrl: issueUrl(config, '') }),
    (r) => `email ${Math.round(r.htmlBytes / 1024)} KB HTML${r.trimmed ? ` (${r.trimmed} quotes trimmed to fit)` : ''}, MJML rendered once`);
}
