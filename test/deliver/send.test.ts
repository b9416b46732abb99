/**
 * Delivery against a real SMTP server on 127.0.0.1 (one per file): headers, retries, reply codes, dropped
 * connections, slow servers, auth, thresholds, suppression, DKIM. Every message is parsed with mailparser.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { renderEmail } from '../../src/render/email.js';
import { deliver, sendTest, DEVELOPMENT_SECRET } from '../../src/deliver/send.js';
import { createSmtpTransport, createOutboxTransport, type Transport } from '../../src/deliver/transports.js';
import { parseSubscribers, subscriberHash, tokenRecipient, verifyUnsubscribeToken, writeSuppressed } from '../../src/deliver/subscribers.js';
import { SendLedger } from '../../src/deliver/ledger.js';
import { DigestError } from '../../src/errors.js';
import type { RenderedEmail, Subscriber } from '../../src/model.js';
import { loadDigest, startSink, testConfig, type Sink } from './smtp-sink.js';

const config = testConfig({ replyTo: 'editors@example.org' });
const digest = loadDigest('realistic');
const NOW = new Date('2026-11-30T07:00:00Z');
const SECRET = 'test-secret-0123456789';
let sink: Sink;
let rendered: RenderedEmail;
let dir: string;
const transports: Transport[] = [];

function subs(n: number, prefix = 'reader'): Subscriber[] {
  const list = Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`).join('\n');
  return parseSubscribers(list, 'test', config.email.listId).subscribers;
}

function smtp(opts: { badPassword?: boolean; pool?: number } = {}): Transport {
  const t = createSmtpTransport(sink.url(opts), { maxConnections: opts.pool ?? 3, socketTimeoutMs: 5000 });
  transports.push(t);
  return t;
}

const run = (over: Partial<Parameters<typeof deliver>[0]> & { subscribers: Subscriber[] }) =>
  deliver({ digest, rendered, config, transport: smtp(), ledgerDir: dir, now: NOW, dryRun: false, secret: SECRET, dkim: null, retry: { maxAttempts: 3, baseDelayMs: 20 }, sendTimeoutMs: 5000, ...over });

beforeAll(async () => {
  sink = await startSink();
  rendered = await renderEmail(digest, config, { webUrl: 'https://example.github.io/issues/2026-11-30-3/', archiveUrl: 'https://example.github.io/' });
});
afterAll(async () => {
  for (const t of transports) await t.close();
  await sink.close();
});
beforeEach(() => {
  sink.reset();
  dir = mkdtempSync(path.join(tmpdir(), 'dd-send-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

const ledgerStates = (issueId = digest.id) => {
  const last = new Map<string, string>();
  for (const r of SendLedger.read(dir, issueId)) last.set(r.recipient, r.state);
  return last;
};

describe('deliver over SMTP', () => {
  it('sends one multipart/alternative message per recipient with every list header, and a rerun sends nothing', async () => {
    const list = subs(5);
    const summary = await run({ subscribers: list });
    expect(summary).toMatchObject({ transport: 'smtp', sent: 5, failed: 0, unknown: 0, deferred: 0, written: 5 });
    expect(sink.messages).toHaveLength(5);
    const ids = new Set<string>();
    for (const m of sink.messages) {
      expect(m.to).toHaveLength(1);
      expect(m.raw).toMatch(/^Content-Type: multipart\/alternative;/m);
      const p = await simpleParser(m.raw);
      const to = (p.to as AddressObject).value;
      expect(to).toHaveLength(1);
      expect(to[0]!.address).toBe(m.to[0]);
      expect(p.from!.value[0]!.address).toBe('digest@example.org');
      expect((p.replyTo as AddressObject).value[0]!.address).toBe('editors@example.org');
      expect(p.subject).toBe(rendered.subject);
      expect(p.subject).toContain('#3');
      expect(p.date!.toISOString()).toBe(NOW.toISOString());
      expect(p.messageId).toMatch(/^<2026-11-30-3\.[0-9a-f]{32}@example\.org>$/);
      ids.add(p.messageId!);
      expect(String(p.text).trim().length).toBeGreaterThan(500);
      expect(String(p.html)).toContain('Unsubscribe');
      const header = (name: string) => p.headerLines.find((h) => h.key === name)?.line ?? '';
      expect(header('list-id')).toContain('<debate-digest.example.org>');
      const lu = header('list-unsubscribe').replace(/\r?\n\s*/g, ' ');
      const https = /<(https:\/\/subscribe\.example\.org\/unsubscribe\?token=([^>]+))>/.exec(lu);
      expect(https, lu).not.toBeNull();
      expect(lu).toContain('<mailto:unsubscribe@example.org?subject=unsubscribe>');
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      // The token in the header is the one in both bodies, and it verifies for this address only.
      const token = decodeURIComponent(https![2]!);
      expect(verifyUnsubscribeToken(config.email.listId, m.to[0]!, token, SECRET)).toBe(true);
      expect(verifyUnsubscribeToken(config.email.listId, 'someone@else.org', token, SECRET)).toBe(false);
      expect(tokenRecipient(token)).toBe(subscriberHash(config.email.listId, m.to[0]!).slice(0, 32));
      expect(String(p.html)).toContain(`href="${https![1]!.replace(/&/g, '&amp;')}"`);
      expect(String(p.text)).toContain(`Unsubscribe: ${https![1]}`);
      expect(m.raw).not.toContain('unsubscribe.invalid');
    }
    expect(ids.size).toBe(5);
    const states = ledgerStates();
    expect([...states.values()]).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    // No address in the ledger, only hashes.
    expect(JSON.stringify(SendLedger.read(dir, digest.id))).not.toContain('@example.com');

    const again = await run({ subscribers: list });
    expect(again).toMatchObject({ sent: 0, skipped: 5, written: 0 });
    expect(sink.messages).toHaveLength(5);
  });

  it('retries a 451 at RCPT with backoff and sends once', async () => {
    sink.behave.rcpt = (to, n) => (to === 'reader1@example.com' && n === 1 ? { kind: 'reject', code: 451, message: 'greylisted' } : { kind: 'ok' });
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 3, deferred: 0, failed: 0 });
    expect(sink.messages.filter((m) => m.to[0] === 'reader1@example.com')).toHaveLength(1);
    const recs = SendLedger.read(dir, digest.id).filter((r) => r.recipient === subscriberHash(config.email.listId, 'reader1@example.com'));
    expect(recs.map((r) => r.state)).toEqual(['deferred', 'attempting', 'sent']);
    expect(recs[0]!.responseCode).toBe(451);
    expect(recs[2]!.attempts).toBe(2);
  });

  it('records a 550 as failed with its code, does not retry it, and a rerun skips it', async () => {
    // Like real servers, this one echoes the address in its refusal; it must not reach the committed ledger.
    sink.behave.rcpt = (to) => (to === 'reader2@example.com' ? { kind: 'reject', code: 550, message: '5.1.1 <reader2@example.com>: no such user' } : { kind: 'ok' });
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 2, failed: 1 });
    expect(sink.rcpts.filter((r) => r === 'reader2@example.com')).toHaveLength(1);
    const h = subscriberHash(config.email.listId, 'reader2@example.com');
    const rec = SendLedger.read(dir, digest.id).filter((r) => r.recipient === h);
    expect(rec.map((r) => [r.state, r.responseCode])).toEqual([['failed', 550]]);
    expect(rec[0]?.error).toContain('no such user');
    expect(JSON.stringify(SendLedger.read(dir, digest.id))).not.toContain('reader2@example.com');
    sink.behave = {};
    const again = await run({ subscribers: subs(3) });
    expect(again).toMatchObject({ sent: 0, skipped: 3 });
  });

  it('after the body: 554 is failed (not retried), 451 is retried, neither leaves an extra copy', async () => {
    sink.behave.data = (to, n) =>
      to === 'reader0@example.com' ? { kind: 'reject', code: 554, message: 'content rejected' } : to === 'reader1@example.com' && n === 1 ? { kind: 'reject', code: 451, message: 'try later' } : { kind: 'ok' };
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 2, failed: 1, unknown: 0 });
    expect(sink.messages.map((m) => m.to[0]).sort()).toEqual(['reader1@example.com', 'reader2@example.com']);
    const recs = SendLedger.read(dir, digest.id).filter((r) => r.recipient === subscriberHash(config.email.listId, 'reader0@example.com'));
    expect(recs.map((r) => [r.state, r.responseCode])).toEqual([['attempting', null], ['failed', 554]]);
  });

  it('leaves a persistent 4xx deferred for the next run, which sends it', async () => {
    sink.behave.rcpt = (to) => (to === 'reader0@example.com' ? { kind: 'reject', code: 452, message: 'mailbox busy' } : { kind: 'ok' });
    const first = await run({ subscribers: subs(2), retry: { maxAttempts: 2, baseDelayMs: 10 } });
    expect(first).toMatchObject({ sent: 1, deferred: 1 });
    expect(ledgerStates().get(subscriberHash(config.email.listId, 'reader0@example.com'))).toBe('deferred');
    // Still busy on the next run's first try: the cap is per run, so it is tried again within that run.
    sink.behave.rcpt = (to, n) => (to === 'reader0@example.com' && n <= 3 ? { kind: 'reject', code: 452, message: 'mailbox busy' } : { kind: 'ok' });
    const second = await run({ subscribers: subs(2), retry: { maxAttempts: 2, baseDelayMs: 10 } });
    expect(second).toMatchObject({ sent: 1, skipped: 1 });
    const recs = SendLedger.read(dir, digest.id).filter((r) => r.recipient === subscriberHash(config.email.listId, 'reader0@example.com'));
    expect(recs.at(-1)).toMatchObject({ state: 'sent', attempts: 4 });
    expect(sink.messages.map((m) => m.to[0]).sort()).toEqual(['reader0@example.com', 'reader1@example.com']);
  });

  it('aborts on an auth failure before anyone is sent', async () => {
    const err = await run({ subscribers: subs(3), transport: smtp({ badPassword: true }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('SMTP_AUTH_FAILED');
    expect(sink.rcpts).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
    expect(SendLedger.read(dir, digest.id)).toHaveLength(0);
  });

  it('aborts at verify() before anyone is sent when nodemailer\'s connection is not the one the transport takes over (another version)', async () => {
    // The seam stands in another nodemailer: its connection as the transport would read it, one member renamed.
    const renamed = (conn: unknown) => {
      const { _onSocketData, ...rest } = conn as Record<string, unknown>;
      return { ...rest, _onData: _onSocketData };
    };
    const transport = createSmtpTransport(sink.url(), { maxConnections: 2, connInternals: renamed });
    transports.push(transport);
    const err = await run({ subscribers: subs(3), transport }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    const e = err as DigestError;
    expect(e.code).toBe('SMTP_CLIENT_UNSUPPORTED');
    expect(e.message).toMatch(/^nodemailer 10\.6\.1 is installed, but .* nodemailer 10\.6\.1, and this one lacks _onSocketData$/);
    expect(e.hint).toMatch(/install nodemailer 10\.6\.1 exactly as package\.json pins it/);
    expect(e.hint).toMatch(/nobody was sent anything/);
    // The login happened (the server saw a session), nothing after it.
    expect(sink.sessions).toBeGreaterThan(0);
    expect(sink.rcpts).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
    expect(SendLedger.read(dir, digest.id)).toHaveLength(0);
    // A send without verify() first is refused the same way, and nothing reaches the server either.
    await expect(transport.send({ raw: 'Subject: x\r\n\r\nx\r\n', from: 'digest@example.org', to: 'r@example.com', messageId: '<x.1@example.org>' })).rejects.toMatchObject({ code: 'SMTP_CLIENT_UNSUPPORTED' });
    expect(sink.rcpts).toHaveLength(0);
  });

  it('stops the run when credentials are refused mid-run, and the rerun resumes', async () => {
    sink.behave.afterAccept = (total) => {
      if (total === 1) sink.refuseAuth = true;
    };
    // The drop forces a new connection, whose login is refused.
    sink.behave.rcpt = (to, n) => (to === 'reader1@example.com' && n === 1 ? { kind: 'drop' } : { kind: 'ok' });
    const transport = createSmtpTransport(sink.url(), { maxConnections: 1 });
    transports.push(transport);
    const err = await run({ subscribers: subs(3), transport, concurrency: 1 }).catch((e: unknown) => e);
    expect((err as DigestError).code).toBe('SMTP_AUTH_FAILED');
    expect(sink.messages.map((m) => m.to[0])).toEqual(['reader0@example.com']);
    sink.reset();
    const again = await run({ subscribers: subs(3) });
    expect(again).toMatchObject({ sent: 2, skipped: 1 });
  });

  it('retries a connection dropped before the body and delivers exactly once', async () => {
    sink.behave.rcpt = (to, n) => (to === 'reader1@example.com' && n === 1 ? { kind: 'drop' } : { kind: 'ok' });
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 3, unknown: 0 });
    expect(sink.messages.filter((m) => m.to[0] === 'reader1@example.com')).toHaveLength(1);
  });

  it('a server that ends each session after 2 messages (421 at the next MAIL FROM): each such message moves to a fresh connection, none deferred, one copy each', async () => {
    sink.behave.mail = (nth) => (nth > 2 ? { kind: 'reject', code: 421, message: 'too many messages in this session' } : { kind: 'ok' });
    const log: string[] = [];
    const summary = await run({ subscribers: subs(7), concurrency: 1, log: (l) => log.push(l) });
    expect(summary).toMatchObject({ sent: 7, deferred: 0, failed: 0, unknown: 0 });
    expect(log).toEqual([]);
    expect(sink.messages.map((m) => m.to[0]).sort()).toEqual(subs(7).map((s) => s.email).sort());
    expect(sink.sessions).toBeGreaterThanOrEqual(4);
    // A 421 on a fresh connection is not moved again: it is the caller's deferred try, as before.
    sink.reset();
    sink.behave.mail = () => ({ kind: 'reject', code: 421, message: 'closing' });
    const down = await run({ subscribers: subs(1, 'late'), retry: { maxAttempts: 1, baseDelayMs: 1 } });
    expect(down).toMatchObject({ sent: 0, deferred: 1 });
  });

  it('marks a connection dropped after the body as unknown and does not resend it (unless told to)', async () => {
    sink.behave.data = (to, n) => (to === 'reader1@example.com' && n === 1 ? { kind: 'drop' } : { kind: 'ok' });
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 2, unknown: 1 });
    expect(sink.messages.filter((m) => m.to[0] === 'reader1@example.com')).toHaveLength(1);
    const again = await run({ subscribers: subs(3) });
    expect(again).toMatchObject({ sent: 0, skipped: 3, unknown: 1 });
    expect(sink.messages).toHaveLength(3);
    const forced = await run({ subscribers: subs(3), resendUnknown: true });
    expect(forced).toMatchObject({ sent: 1 });
    expect(sink.messages.filter((m) => m.to[0] === 'reader1@example.com')).toHaveLength(2);
  });

  it('times out a slow server: before the body → deferred and retried next run; after the body → unknown', async () => {
    // Generous margins (1 s limit, 2.5 s delays): a loaded CI machine must not time out the healthy sends.
    sink.behave.rcpt = (to) => (to === 'reader0@example.com' ? { kind: 'delay', ms: 2500 } : { kind: 'ok' });
    sink.behave.data = (to) => (to === 'reader1@example.com' ? { kind: 'delay', ms: 2500 } : { kind: 'ok' });
    const summary = await run({ subscribers: subs(3), sendTimeoutMs: 1000, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    expect(summary).toMatchObject({ sent: 1, deferred: 1, unknown: 1 });
    const states = ledgerStates();
    expect(states.get(subscriberHash(config.email.listId, 'reader0@example.com'))).toBe('deferred');
    expect(states.get(subscriberHash(config.email.listId, 'reader1@example.com'))).toBe('unknown');
    await new Promise((r) => setTimeout(r, 2700));
    sink.behave = {};
    const next = await run({ subscribers: subs(3) });
    expect(next).toMatchObject({ sent: 1 });
    // reader0 got exactly one copy; reader1's slow-answered copy is the only one it has.
    expect(sink.messages.filter((m) => m.to[0] === 'reader0@example.com')).toHaveLength(1);
    expect(sink.messages.filter((m) => m.to[0] === 'reader1@example.com')).toHaveLength(1);
  });

  it('stops past the error threshold', async () => {
    sink.behave.rcpt = () => ({ kind: 'reject', code: 550, message: 'rejected' });
    const err = await run({ subscribers: subs(20), maxErrors: 3, concurrency: 1 }).catch((e: unknown) => e);
    expect((err as DigestError).code).toBe('SEND_ABORTED');
    expect(sink.rcpts.length).toBeLessThan(20);
  });

  it('skips suppressed recipients (stored as hashes)', async () => {
    await writeSuppressed(dir, [subscriberHash(config.email.listId, 'reader1@example.com')]);
    const summary = await run({ subscribers: subs(3) });
    expect(summary).toMatchObject({ sent: 2, skipped: 1 });
    expect(sink.rcpts).not.toContain('reader1@example.com');
  });

  it('refuses SMTP without UNSUBSCRIBE_SECRET, and uses a named development secret for the outbox', async () => {
    const err = await run({ subscribers: subs(1), secret: null }).catch((e: unknown) => e);
    expect((err as DigestError).code).toBe('ENV_MISSING');
    const dry = await run({ subscribers: subs(1), secret: null, dryRun: true }).catch((e: unknown) => e);
    expect((dry as DigestError).code).toBe('ENV_MISSING');
    expect(sink.rcpts).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
    const lines: string[] = [];
    const outbox = path.join(dir, 'outbox');
    const summary = await run({ subscribers: subs(1), secret: null, transport: createOutboxTransport(outbox), log: (l) => lines.push(l) });
    expect(summary.sent).toBe(1);
    expect(lines.join('\n')).toMatch(/UNSUBSCRIBE_SECRET is not set/);
    expect(DEVELOPMENT_SECRET).toMatch(/DEVELOPMENT-ONLY/);
  });

  it('regression: an unexpected error in one send stops the run cleanly, and the rerun sends everyone once', async () => {
    const d = path.join(dir, 'unexpected');
    const outbox = path.join(d, 'outbox');
    const list = subs(12, 'oops');
    // A recipient whose message cannot be built (a header value outside ASCII, which parseSubscribers would
    // have refused): the error comes from outside the SMTP error handling.
    const broken = { ...list[5]!, email: 'oöps5@example.com' };
    const bad = run({ subscribers: list.map((x, i) => (i === 5 ? broken : x)), transport: createOutboxTransport(outbox), ledgerDir: d });
    await expect(bad).rejects.toMatchObject({ code: 'SEND_ABORTED' });
    const again = await run({ subscribers: list, transport: createOutboxTransport(outbox), ledgerDir: d });
    expect(again.sent + again.skipped).toBe(12);
    expect(readdirSync(outbox).filter((f) => f.endsWith('.eml'))).toHaveLength(12);
    const last = new Map(SendLedger.read(d, digest.id).map((r) => [r.recipient, r.state]));
    expect([...last.values()].every((st) => st === 'sent')).toBe(true);
  });

  it('regression: an outbox send interrupted after its commit point is settled on the rerun, never skipped', async () => {
    const d = path.join(dir, 'interrupted');
    const outbox = path.join(d, 'outbox');
    const list = subs(2, 'crash');
    await run({ subscribers: list, transport: createOutboxTransport(outbox), ledgerDir: d });
    const [kept, lost] = readdirSync(outbox).sort();
    // As if the process died after "attempting" was written: for one the rename happened, for the other not.
    rmSync(path.join(outbox, lost as string));
    const ledger = SendLedger.open(d, digest.id);
    for (const r of SendLedger.read(d, digest.id).filter((x) => x.state === 'sent')) await ledger.append({ ...r, state: 'attempting' });
    await ledger.flush();
    ledger.close();
    const before = readFileSync(path.join(outbox, kept as string));
    const again = await run({ subscribers: list, transport: createOutboxTransport(outbox), ledgerDir: d });
    expect(again).toMatchObject({ sent: 1, skipped: 1, unknown: 0 });
    expect(readdirSync(outbox).sort()).toEqual([kept, lost]);
    expect(readFileSync(path.join(outbox, kept as string)).equals(before)).toBe(true);
    const last = new Map(SendLedger.read(d, digest.id).map((r) => [r.recipient, r.state]));
    expect([...last.values()]).toEqual(['sent', 'sent']);
  });

  it('writes byte-identical outbox messages for the same issue, recipient and run time (reviewable)', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await run({ subscribers: subs(2), transport: createOutboxTransport(path.join(a, 'outbox')), ledgerDir: a });
    await run({ subscribers: subs(2), transport: createOutboxTransport(path.join(b, 'outbox')), ledgerDir: b });
    const files = readdirSync(path.join(a, 'outbox')).sort();
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f).toMatch(/^2026-11-30-3\.[0-9a-f]{32}\.eml$/);
      expect(readFileSync(path.join(b, 'outbox', f), 'latin1')).toBe(readFileSync(path.join(a, 'outbox', f), 'latin1'));
    }
  });

  it('dry run sends nothing and writes no ledger, but counts from the ledger like a real run', async () => {
    const lines: string[] = [];
    const summary = await run({ subscribers: subs(3), dryRun: true, log: (l) => lines.push(l) });
    expect(summary.sent).toBe(0);
    expect(lines.join('\n')).toContain('would send 3 of 3');
    expect(sink.rcpts).toHaveLength(0);
    expect(existsSync(path.join(dir, 'sends'))).toBe(false);
    await run({ subscribers: subs(2) });
    const after = await run({ subscribers: subs(3), dryRun: true, log: (l) => lines.push(l) });
    expect(after.skipped).toBe(2);
    expect(lines.at(-1)).toContain('would send 1 of 3');
  });

  it('sendTest sends one copy and leaves the ledger untouched', async () => {
    await sendTest({ digest, rendered, config, to: 'Editor@Example.org', transport: smtp(), secret: SECRET, now: NOW, dkim: null });
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.to).toEqual(['editor@example.org']);
    expect(existsSync(path.join(dir, 'sends'))).toBe(false);
  });
});

describe('DKIM', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const resolver = async (name: string, type: string) => {
    if (type === 'TXT' && name === 'dd2026._domainkey.example.org') return [[`v=DKIM1; k=rsa; p=${p}`]];
    throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
  };

  it('signs with DKIM_PRIVATE_KEY from the environment; verifies, and fails once a signed header is altered', async () => {
    const env = { DKIM_PRIVATE_KEY: pem.replace(/\n/g, '\\n'), DKIM_SELECTOR: 'dd2026', DKIM_DOMAIN: 'example.org' };
    // No `dkim` option: deliver() takes the key from env.
    const summary = await deliver({ digest, rendered, config, transport: smtp(), ledgerDir: dir, now: NOW, dryRun: false, secret: SECRET, env, subscribers: subs(2) });
    expect(summary.sent).toBe(2);
    for (const m of sink.messages) {
      const ok = await dkimVerify(Buffer.from(m.raw, 'latin1'), { resolver } as never);
      const r = ok.results[0]!;
      expect(r.status.result, JSON.stringify(r.status)).toBe('pass');
      expect(String((r as unknown as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? '')).toMatch(/List-Unsubscribe-Post/i);
      const tampered = m.raw.replace(/^Reply-To: .*$/m, 'Reply-To: attacker@evil.example');
      const bad = await dkimVerify(Buffer.from(tampered, 'latin1'), { resolver } as never);
      expect(bad.results[0]!.status.result).toBe('fail');
      const tamperedUnsub = m.raw.replace(/token=/, 'token=X');
      expect((await dkimVerify(Buffer.from(tamperedUnsub, 'latin1'), { resolver } as never)).results[0]!.status.result).toBe('fail');
    }
  });
});

describe('checkDelivery (before a run writes anything) agrees with deliver', () => {
  it('a blank SMTP_URL is the outbox, and a blank secret is no secret', async () => {
    const { checkDelivery } = await import('../../src/pipeline.js');
    const outboxDir = mkdtempSync(path.join(tmpdir(), 'dd-check-'));
    try {
      expect(() => checkDelivery({ SMTP_URL: '  ' }, { needsList: true, outboxDir })).not.toThrow();
      expect(() => checkDelivery({ SMTP_URL: 'smtp://127.0.0.1:9', UNSUBSCRIBE_SECRET: '  ' }, { needsList: false, outboxDir })).toThrow(/UNSUBSCRIBE_SECRET is not set/);
    } finally {
      rmSync(outboxDir, { recursive: true, force: true });
    }
  });
});
