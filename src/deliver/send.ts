/**
 * Delivery, exactly once per recipient across crashes and reruns.
 *
 * Per recipient, the ledger (ledger.ts) gets, in order:
 *   attempting   written at the commit point: the body has gone out, the end-of-data dot has not
 *                (transports.ts, onCommit). A server takes a message only at that dot, so before this
 *                point nothing can be held by the server and a failure is safely retried.
 *   sent         only after the server's 250 for the message.
 *   failed       permanent refusal (5xx), with the code. Not retried.
 *   unknown      the connection died (or timed out) after the commit point: the server may hold the message
 *                (field notes), so it is NOT resent unless `resendUnknown`. A rerun finding a bare
 *                `attempting` (we were killed mid-send) records `unknown` for the same reason.
 *   deferred     4xx or a failure before the commit point: retried with backoff and jitter up to a small cap
 *                within the run, then left for the next run.
 *
 * Written, or also fsync'd, before the dot? (`ledgerSync`, env DIGEST_LEDGER_SYNC; default 'background'.)
 * What the rerun needs is the "attempting" line being in the file whenever the dot may have left. write(2)
 * puts it in the kernel's page cache before the dot is written, and from there a dying process cannot take
 * it back: SIGKILL, OOM, an uncaught error or a cancelled CI job all leave it for the rerun (crash.test.ts
 * kills the process mid-run and checks exactly one copy each). An fsync before the dot adds only: the
 * machine losing power (or its kernel crashing) in the few milliseconds between that write and the fsync
 * that follows it in the background. That costs every message one fsync of latency (~3 ms on the CI disk
 * measured, against ~1 ms for the whole SMTP exchange): with 5 connections it, not SMTP, set the pace.
 * And where this runs (the digest workflow), the ledger is kept only by committing digests/sends after the
 * run: a runner that loses power loses the whole working tree, fsync'd or not, so the strict fsync protects
 * nothing there. On a long-lived host that must survive power loss without a duplicate, set
 * DIGEST_LEDGER_SYNC=commit (each message then waits for its fsync before the dot). In background mode a
 * power loss can lose at most the lines of the last fsync or two: their recipients look untried and are
 * resent, with the same Message-ID (clients fold it).
 *
 * Before anyone is sent, transport.verify() (an auth failure aborts the run with nobody sent). The run stops
 * when errors pass a threshold. Suppressed recipients (hashes in <ledgerDir>/suppressed.json) are skipped.
 */
import { randomInt } from 'node:crypto';
import type { Config, DeliverySummary, Digest, RenderedEmail, SendRecord, Subscriber } from '../model.js';
import { DigestError } from '../errors.js';
import { SendLedger, type LedgerSync } from './ledger.js';
import { buildMessageTemplate, dkimFromEnv, messageIdFor, signDkim, spliceCheckedBytes, addressOf, type DkimOptions, type MessageTemplate } from './headers.js';
import { safeUrl } from '../render/helpers.js';
import { maskAddress, maskAddresses, normalizeAddress, readSuppressed, subscriberHash, unsubscribeTokenWithHash } from './subscribers.js';
import { isAuthError, type SendError, type Transport } from './transports.js';

/** Used only when UNSUBSCRIBE_SECRET is unset and nothing leaves the machine (outbox/json). Named so that a
 *  token made with it is recognisable if one ever escapes. */
export const DEVELOPMENT_SECRET = 'debate-digest-DEVELOPMENT-ONLY-unsubscribe-secret-do-not-use-in-production';

export interface DeliverOptions {
  digest: Digest;
  rendered: RenderedEmail;
  config: Config;
  subscribers: Subscriber[];
  transport: Transport;
  /** Folder holding sends/<issueId>.jsonl and suppressed.json (digests/). */
  ledgerDir: string;
  /** The run's clock: Date header and ledger timestamps start from it. */
  now: Date;
  dryRun: boolean;
  /** Resend recipients whose state is unknown (may produce duplicates; the operator's call). */
  resendUnknown?: boolean;
  /** UNSUBSCRIBE_SECRET; null → development secret for outbox/json, ENV_MISSING for smtp. */
  secret: string | null;
  log?: (line: string) => void;
  /** DKIM key; undefined → from env (DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN); null → unsigned. */
  dkim?: DkimOptions | null;
  env?: NodeJS.ProcessEnv;
  /** Sends in flight at once. Default: 5 for smtp (one per pooled connection), 8 otherwise. */
  concurrency?: number;
  /** One send's time limit. Default 60 s. */
  sendTimeoutMs?: number;
  /** Tries per recipient within one run (a deferred recipient gets as many again next run), and the first backoff. Default 3 tries, 1 s (doubling, ±50% jitter). */
  retry?: { maxAttempts: number; baseDelayMs: number };
  /** Stop the run after this many errors (failed + unknown + deferred attempts). Default max(10, 10% of the list). */
  maxErrors?: number;
  /** fsync the "attempting" line before the end-of-data dot ('commit'), or write it and fsync right after
   *  ('background'). Default: env DIGEST_LEDGER_SYNC, else 'background' (see the top of this file). */
  ledgerSync?: LedgerSync;
}

/** The https unsubscribe URL with the recipient's token, or null when none is configured. */
export function unsubscribeHttpsUrl(base: string | null, token: string): string | null {
  if (!base) return null;
  const u = new URL(base);
  u.searchParams.set('token', token);
  return u.href;
}

/** `mailto:` form of the configured unsubscribe address (it may be written with or without the scheme). */
export function unsubscribeMailtoUrl(mailto: string | null): string | null {
  if (!mailto) return null;
  const addr = normalizeAddress(mailto.replace(/^mailto:/i, '').split('?')[0] ?? '');
  return addr ? `mailto:${addr}?subject=unsubscribe` : null;
}

/**
 * What deliver() works out once per issue. The unsubscribe URLs are checked (safeUrl) here, once: per recipient
 * only their token is put in (httpsFor) and the values spliced into the template.
 */
interface Prepared {
  tpl: MessageTemplate;
  from: string;
  secret: string;
  dkim: DkimOptions | null;
  /** The mailto: unsubscribe URL, checked: the same for every recipient ('' when none or refused). */
  mailto: string;
  /** A recipient's https unsubscribe URL from their token, checked ('' when refused); null when none is configured. */
  httpsFor: (token: string) => string | null;
  /** List-Unsubscribe-Post goes with an https URL; its scheme is the configured one, whatever the token. */
  oneClick: boolean;
}

/** A token made of characters URLSearchParams never escapes (hex, base64url and ".", like every real token). */
const TOKEN_PROBE = 'ddTokenProbe.0f9e_-';

/**
 * unsubscribeHttpsUrl(base, token) through safeUrl for every recipient without parsing anything per recipient:
 * the URL is made and checked once around a probe token, cut there, and the real token put in its place. Tokens
 * are hex + "." + base64url, which the query serializer leaves as they are and no check can treat differently,
 * so this is byte for byte the same URL (other tokens, or a base the probe does not appear in once, fall back
 * to the parse and the check per recipient). '' when the URL is refused.
 */
export function httpsUrlMaker(base: string | null): (token: string) => string | null {
  if (!base) return () => null;
  const full = (token: string) => safeUrl(unsubscribeHttpsUrl(base, token));
  const probe = full(TOKEN_PROBE);
  if (!probe) return () => '';
  const at = probe.indexOf(TOKEN_PROBE);
  if (at < 0 || probe.indexOf(TOKEN_PROBE, at + 1) >= 0) return full;
  const head = probe.slice(0, at);
  const tail = probe.slice(at + TOKEN_PROBE.length);
  return (token) => (/^[A-Za-z0-9._-]+$/.test(token) ? head + token + tail : full(token));
}

/** Sending through SMTP needs a real unsubscribe secret: the error when there is none (also checked before a run writes). */
export function requireSmtpSecret(secret: string | null | undefined): void {
  if (secret && secret.trim()) return;
  throw new DigestError('ENV_MISSING', 'UNSUBSCRIBE_SECRET is not set', {
    origin: 'env UNSUBSCRIBE_SECRET',
    hint: 'set UNSUBSCRIBE_SECRET (e.g. `openssl rand -hex 32`) before sending through SMTP: it signs the unsubscribe links',
  });
}

function resolveSecret(secret: string | null, transport: Transport, log: (l: string) => void): string {
  if (secret && secret.trim()) return secret;
  if (transport.name === 'smtp') requireSmtpSecret(secret);
  log(`notice: UNSUBSCRIBE_SECRET is not set; unsubscribe links in the ${transport.name} use the development secret`);
  return DEVELOPMENT_SECRET;
}

async function prepare(o: { rendered: RenderedEmail; config: Config; transport: Transport; secret: string | null; now: Date; dkim?: DkimOptions | null; env?: NodeJS.ProcessEnv }, log: (l: string) => void): Promise<Prepared> {
  const from = addressOf(o.config.email.from);
  if (!normalizeAddress(from)) {
    throw new DigestError('CONFIG_INVALID', 'email.from has no valid address', { origin: 'settings.yaml: email.from', hint: 'write it as "Name <address@example.org>"' });
  }
  const secret = resolveSecret(o.secret, o.transport, log);
  const tpl = await buildMessageTemplate(o.rendered, { from: o.config.email.from, replyTo: o.config.email.replyTo, listId: o.config.email.listId, listName: o.config.site.title, date: o.now });
  const dkim = o.dkim !== undefined ? o.dkim : dkimFromEnv(o.env ?? {}, o.config.email.from);
  if (dkim && !dkim.domainName) throw new DigestError('ENV_MISSING', 'DKIM_DOMAIN is not set and email.from has no domain', { origin: 'env DKIM_DOMAIN', hint: 'set DKIM_DOMAIN to the signing domain' });
  const httpsFor = httpsUrlMaker(o.config.email.unsubscribeUrl);
  const oneClick = httpsFor(TOKEN_PROBE)?.startsWith('https:') ?? false;
  return { tpl, from, secret, dkim, mailto: safeUrl(unsubscribeMailtoUrl(o.config.email.unsubscribeMailto)), httpsFor, oneClick };
}

/**
 * One recipient's message: its SMTP DATA form as chunks (`data`, sent as is by the smtp transport) and the
 * raw message (`raw`), which only the outbox and json transports and DKIM read: a getter, so that sending
 * over SMTP never joins the 100 KB into one more buffer per recipient.
 */
async function messageFor(p: Prepared, o: { config: Config; issueId: string }, email: string, hash: string): Promise<{ msg: { readonly raw: Buffer; data: Buffer[] | undefined }; messageId: string }> {
  const token = unsubscribeTokenWithHash(hash, o.config.email.listId, email, p.secret);
  const https = p.httpsFor(token);
  const messageId = messageIdFor(o.issueId, hash, p.tpl.idDomain);
  // The body links to the https URL when one is configured (even one refused: then no link), else the mailto.
  const parts = spliceCheckedBytes(p.tpl, { to: email, messageId, unsubscribeHttps: https ?? '', unsubscribeMailto: p.mailto, oneClick: p.oneClick, bodyUnsubscribeUrl: https ?? p.mailto });
  // A signature adds a header: the transport escapes the signed message itself.
  if (p.dkim) return { msg: { raw: await signDkim(Buffer.concat(parts.raw), p.dkim), data: undefined }, messageId };
  return { msg: { get raw() { return Buffer.concat(parts.raw); }, data: parts.data }, messageId };
}

/**
 * Deliver's per-recipient step on its own, for the benchmark: the issue's message is prepared once (as deliver
 * does), and the function returned builds one recipient's message from it (unsubscribe token, Message-ID, the
 * recipient's parts spliced in) as deliver does before handing it to the transport, without DKIM: with a key
 * configured, deliver also signs each message, which costs far more than all of this.
 */
export async function recipientMessages(o: { rendered: RenderedEmail; config: Config; issueId: string; transport: Transport; secret: string; now: Date }): Promise<(email: string, hash: string) => ReturnType<typeof messageFor>> {
  const prepared = await prepare({ ...o, dkim: null }, () => {});
  return (email, hash) => messageFor(prepared, { config: o.config, issueId: o.issueId }, email, hash);
}

function ledgerSyncMode(option: LedgerSync | undefined, env: NodeJS.ProcessEnv | undefined): LedgerSync {
  if (option) return option;
  const v = env?.DIGEST_LEDGER_SYNC?.trim();
  if (!v) return 'background';
  if (v === 'commit' || v === 'background') return v;
  throw new DigestError('CONFIG_INVALID', `DIGEST_LEDGER_SYNC is "${v}", not "commit" or "background"`, {
    origin: 'env DIGEST_LEDGER_SYNC',
    hint: 'commit: fsync each send ledger line before the message is committed (survives power loss); background (default): write it, fsync right after',
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = { state: 'sent' | 'failed' | 'unknown' | 'deferred'; code: number | null; error: string | null; auth: boolean };

function classify(err: unknown, committed: boolean): Outcome {
  const e = err as SendError;
  const code = typeof e?.responseCode === 'number' ? e.responseCode : null;
  // Servers often echo the recipient ("550 5.1.1 <x@y>: Recipient address rejected"): the text goes to the log
  // and into the committed ledger, so every address in it is masked first.
  const error = maskAddresses(`${e?.code ?? 'ERROR'}: ${(e?.response ?? e?.message ?? String(err)).toString().slice(0, 300)}`);
  if (isAuthError(err)) return { state: 'deferred', code, error, auth: true };
  // Branch on the SMTP reply code: 451 and 550 both arrive as EENVELOPE.
  if (code !== null && code >= 500) return { state: 'failed', code, error, auth: false };
  if (code !== null && code >= 400) return { state: 'deferred', code, error, auth: false };
  // No reply: what matters is whether the server may already hold the message.
  return { state: committed ? 'unknown' : 'deferred', code, error, auth: false };
}

/**
 * Send the issue to every subscriber not yet done, resuming from the ledger. Returns the counts for this
 * run: `written` = messages handed to the transport, `skipped` = already done in an earlier run, suppressed
 * or left unknown.
 */
export async function deliver(opts: DeliverOptions): Promise<DeliverySummary> {
  const log = opts.log ?? (() => {});
  const { digest, config, transport } = opts;
  const summary: DeliverySummary = { transport: transport.name, written: 0, sent: 0, skipped: 0, failed: 0, unknown: 0, deferred: 0 };
  const listId = config.email.listId;
  const maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 3);
  const baseDelay = opts.retry?.baseDelayMs ?? 1000;
  const sendTimeoutMs = opts.sendTimeoutMs ?? 60_000;
  const t0 = Date.now();
  const clock = () => new Date(opts.now.getTime() + (Date.now() - t0)).toISOString();

  // A missing secret is a configuration error: say so before reading ledgers or connecting (dry runs too).
  if (transport.name === 'smtp' && !(opts.secret && opts.secret.trim())) resolveSecret(null, transport, log);

  // Hashes are re-derived with this list's id, whatever list id the caller parsed with.
  const seen = new Set<string>();
  const recipients = opts.subscribers
    .map((s) => ({ ...s, hash: subscriberHash(listId, s.email) }))
    .filter((s) => (seen.has(s.hash) ? false : (seen.add(s.hash), true)));
  const suppressed = await readSuppressed(opts.ledgerDir);
  const ledger = opts.dryRun ? null : SendLedger.open(opts.ledgerDir, digest.id);
  if (ledger) ledger.sync = ledgerSyncMode(opts.ledgerSync, opts.env);
  // A dry run reads the ledger without opening it for writing, so its counts match what a real run would do.
  const readOnly = opts.dryRun ? new Map(SendLedger.read(opts.ledgerDir, digest.id).map((r) => [r.recipient, r] as const)) : null;
  const prior = (hash: string) => (ledger ? ledger.last(hash) : readOnly?.get(hash));

  const record = async (hash: string, messageId: string, state: SendRecord['state'], attempts: number, code: number | null, error: string | null) => {
    await ledger?.append({ issueId: digest.id, recipient: hash, state, at: clock(), attempts, responseCode: code, error, messageId });
  };

  const todo: { sub: Subscriber; attempts: number }[] = [];
  try {
    for (const sub of recipients) {
      const last = prior(sub.hash);
      if (suppressed.has(sub.hash)) {
        summary.skipped++;
        continue;
      }
      if (last?.state === 'sent' || last?.state === 'failed') {
        summary.skipped++;
        continue;
      }
      if ((last?.state === 'attempting' || last?.state === 'unknown') && transport.holds) {
        // Where the far side can be asked (the outbox), an interrupted send is settled, never left in doubt:
        // the file is there (sent), or it is not and the recipient is sent now (the file name is the same).
        if (await transport.holds(last.messageId)) {
          await record(sub.hash, last.messageId, 'sent', last.attempts, 250, null);
          summary.skipped++;
          continue;
        }
        todo.push({ sub, attempts: last.attempts });
        continue;
      }
      if (last?.state === 'attempting') {
        // Killed between the commit point and the server's answer being recorded: the server may hold it.
        await record(sub.hash, last.messageId, 'unknown', last.attempts, null, 'interrupted after the message was committed (previous run stopped)');
      }
      if ((last?.state === 'unknown' || last?.state === 'attempting') && !opts.resendUnknown) {
        summary.skipped++;
        summary.unknown++;
        continue;
      }
      todo.push({ sub, attempts: last?.attempts ?? 0 });
    }
    if (opts.dryRun) {
      log(`dry run: would send ${todo.length} of ${recipients.length} (${summary.skipped} already done, suppressed or unknown) via ${transport.name}`);
      return summary;
    }
    if (todo.length === 0) return summary;

    await transport.verify();
    const prepared = await prepare({ ...opts }, log);
    const maxErrors = opts.maxErrors ?? Math.max(10, Math.ceil(recipients.length * 0.1));
    let errors = 0;
    let abort: DigestError | null = null;
    const pendingSync: Promise<void>[] = [];
    let syncError: unknown = null;

    const sendOne = async (item: { sub: Subscriber; attempts: number }, ctl: { ac: AbortController }) => {
      const { sub } = item;
      const { msg, messageId } = await messageFor(prepared, { config, issueId: digest.id }, sub.email, sub.hash);
      summary.written++;
      // `attempts` counts every try across runs (the ledger's record); the cap applies to tries in this run.
      let triesThisRun = 0;
      for (;;) {
        if (abort) return;
        item.attempts++;
        triesThisRun++;
        let committed = false;
        // One controller per worker, replaced only once it has fired: a new one per message was a visible share
        // of the per-message cost, and the transport removes its listener from it when each send settles.
        if (ctl.ac.signal.aborted) ctl.ac = new AbortController();
        const ac = ctl.ac;
        const timer = setTimeout(() => ac.abort(), sendTimeoutMs);
        try {
          const res = await transport.send({
            get raw() {
              return msg.raw;
            },
            data: msg.data,
            from: prepared.from,
            to: sub.email,
            messageId,
            signal: ac.signal,
            onCommit: async () => {
              if (ac.signal.aborted) throw new Error('send timed out before the message was committed');
              await record(sub.hash, messageId, 'attempting', item.attempts, null, null);
              // The timeout may have struck while the line was being synced: then the message must not commit.
              if (ac.signal.aborted) throw new Error('send timed out before the message was committed');
              committed = true;
            },
          });
          if (!res.accepted) throw Object.assign(new Error(`not accepted: ${res.response}`), { responseCode: Number(/^\d{3}/.exec(res.response)?.[0] ?? 550) });
          // Written at once (a killed process cannot lose it) but never waited on for the disk, in either sync
          // mode: only "attempting" matters before the commit point. Should power fail before this line is
          // synced, the rerun finds "attempting" and records unknown: never a duplicate.
          pendingSync.push(record(sub.hash, messageId, 'sent', item.attempts, Number(/^\d{3}/.exec(res.response)?.[0]) || 250, null).catch((err: unknown) => {
            syncError ??= err;
          }));
          summary.sent++;
          return;
        } catch (err) {
          const out = classify(err, committed);
          if (out.auth) {
            await record(sub.hash, messageId, 'deferred', item.attempts, out.code, out.error);
            summary.deferred++;
            abort = new DigestError('SMTP_AUTH_FAILED', `the SMTP server refused our credentials mid-run: ${out.error}`, {
              origin: transport.name,
              hint: 'fix the credentials and rerun: the ledger resumes where this run stopped',
              cause: err,
            });
            return;
          }
          errors++;
          const final = out.state !== 'deferred' || triesThisRun >= maxAttempts;
          await record(sub.hash, messageId, out.state, item.attempts, out.code, out.error);
          log(`${out.state} ${sub.masked} (try ${item.attempts}): ${out.error}`);
          if (errors >= maxErrors && !abort) {
            abort = new DigestError('SEND_ABORTED', `stopped after ${errors} send errors`, {
              origin: transport.name,
              hint: 'look at the errors above (server down? rate-limited? bad list?); rerun to resume: sent recipients are skipped',
            });
          }
          if (final) {
            if (out.state === 'failed') summary.failed++;
            else if (out.state === 'unknown') summary.unknown++;
            else summary.deferred++;
            return;
          }
          // 4xx, or no reply before the commit point: back off (doubling, ±50% jitter) and try again.
          await sleep(Math.round(baseDelay * 2 ** (triesThisRun - 1) * (0.5 + randomInt(1000) / 1000)));
        } finally {
          clearTimeout(timer);
        }
      }
    };

    const concurrency = Math.max(1, opts.concurrency ?? (transport.name === 'smtp' ? 5 : 8));
    let next = 0;
    const worker = async () => {
      const ctl = { ac: new AbortController() };
      while (!abort && next < todo.length) {
        const item = todo[next++]!;
        try {
          await sendOne(item, ctl);
        } catch (err) {
          // Anything sendOne did not expect (DKIM signing, a ledger write on a full disk) stops the other
          // workers from taking more, but lets their sends in flight finish and be recorded before we report.
          abort ??= new DigestError('SEND_ABORTED', `sending stopped on an unexpected error: ${maskAddresses(err instanceof Error ? err.message : String(err))}`, {
            origin: transport.name,
            hint: 'fix the cause and run `digest send` again: it resumes from the send ledger, nobody is sent twice',
            cause: err,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
    await Promise.all(pendingSync);
    if (syncError) throw syncError;
    // Durable before we report: the workflow commits this file next.
    await ledger?.flush();
    if (abort) {
      const a = abort as DigestError;
      throw new DigestError(a.code, `${a.message} (sent ${summary.sent}, failed ${summary.failed}, unknown ${summary.unknown}, deferred ${summary.deferred}; ${todo.length - next} not tried)`, { origin: a.origin, hint: a.hint, cause: a.cause });
    }
    return summary;
  } finally {
    ledger?.close();
  }
}

/**
 * `digest send --to ADDRESS`: one copy of the issue to one address, ledger untouched. The unsubscribe link is
 * real (made for that address), so the copy looks exactly like what subscribers get.
 */
export async function sendTest(opts: {
  digest: Digest;
  rendered: RenderedEmail;
  config: Config;
  to: string;
  transport: Transport;
  env?: NodeJS.ProcessEnv;
  dryRun?: boolean;
  log?: (line: string) => void;
  secret?: string | null;
  now?: Date;
  dkim?: DkimOptions | null;
}): Promise<void> {
  const log = opts.log ?? (() => {});
  const email = normalizeAddress(opts.to);
  if (!email) throw new DigestError('USAGE', `--to is not a valid address: ${maskAddress(opts.to)}`, { origin: '--to', hint: 'give one plain address, like you@example.org' });
  if (opts.dryRun) {
    log(`dry run: would send a test copy of ${opts.digest.id} to ${maskAddress(email)} via ${opts.transport.name}`);
    return;
  }
  await opts.transport.verify();
  // The edge of the program: a test send carries the time it was sent.
  const now = opts.now ?? new Date();
  const p = await prepare({ rendered: opts.rendered, config: opts.config, transport: opts.transport, secret: opts.secret ?? opts.env?.UNSUBSCRIBE_SECRET ?? null, now, dkim: opts.dkim, env: opts.env }, log);
  const hash = subscriberHash(opts.config.email.listId, email);
  const { msg, messageId } = await messageFor(p, { config: opts.config, issueId: `${opts.digest.id}-test` }, email, hash);
  const res = await opts.transport.send({ raw: msg.raw, data: msg.data, from: p.from, to: email, messageId });
  if (!res.accepted) throw new DigestError('SEND_ABORTED', `the test copy was not accepted: ${res.response}`, { origin: opts.transport.name, hint: 'check the address and the server log' });
  log(`test copy of ${opts.digest.id} sent to ${maskAddress(email)} via ${opts.transport.name}: ${res.response}`);
}
