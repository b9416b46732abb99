/**
 * The fast path's bytes: what the smtp transport puts on the wire without nodemailer's escaping must be what
 * nodemailer would have sent (CRLF, leading dots doubled), the per-recipient QP values must match
 * nodemailer's encoder, and a server whose certificate does not verify gives SMTP_TLS_FAILED with a way out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import * as qp from 'nodemailer/lib/qp';
import { buildMessageTemplate, checkParts, messageIdFor, qpEncodeValue, spliceCheckedBytes, spliceMessage } from '../../src/deliver/headers.js';
import { createJsonTransport, createSmtpTransport, createTransport, dataBytes, smtpSettings } from '../../src/deliver/transports.js';
import { deliver, httpsUrlMaker, unsubscribeHttpsUrl, unsubscribeMailtoUrl } from '../../src/deliver/send.js';
import { SendLedger } from '../../src/deliver/ledger.js';
import { parseSubscribers, unsubscribeToken } from '../../src/deliver/subscribers.js';
import type { RenderedEmail } from '../../src/model.js';
import { realisticSendSuite, testConfig } from './smtp-sink.js';

const suite = realisticSendSuite('dd-wire-');
const { config, digest } = suite;

/** nodemailer's DataStream rules, written plainly: the reference the fast path must equal. */
const reference = (raw: string) => raw.replace(/\r\n|\r|\n/g, '\r\n').replace(/(^|\n)\./g, '$1..');

describe('DATA bytes', () => {
  it('dataBytes doubles leading dots and makes bare CR/LF CRLF; leaves a clean message as is (same buffer)', () => {
    for (const raw of ['.a\r\nb\r\n.c\r\n..d\r\n', 'x\ny\r.z\r\n', 'no dots\r\n.\r\n', 'a.b\r\n']) {
      expect(dataBytes(raw).toString('latin1')).toBe(reference(raw));
    }
    const clean = Buffer.from('Subject: x\r\n\r\nbody. with dots.\r\n', 'latin1');
    expect(dataBytes(clean)).toBe(clean);
  });

  it('spliced chunks: raw is spliceMessage byte for byte, data is its escaped form, also with dots in the spliced values', async () => {
    // A body whose lines start with dots, and a long unsubscribe URL whose QP wrap puts a dot at a line start.
    const dotty: RenderedEmail = { ...suite.rendered, text: `.starts with a dot\n${suite.rendered.text}\n.\n..two\n`, html: suite.rendered.html.replace('<body', '<body>\n.dot line\n<div') };
    const tpl = await buildMessageTemplate(dotty, { from: config.email.from, replyTo: null, listId: config.email.listId, listName: 'List', date: new Date('2026-11-30T07:00:00Z') });
    for (const pad of [0, 1, 2, 30, 59, 60, 61, 74, 75]) {
      const url = `https://s.example.org/u?token=${'a'.repeat(pad)}${'.'.repeat(80)}`;
      const parts = { to: 'r@example.com', messageId: '<x.1@example.org>', unsubscribeHttps: url, unsubscribeMailto: null, bodyUnsubscribeUrl: url };
      const { raw, data } = spliceCheckedBytes(tpl, checkParts(parts));
      const plain = spliceMessage(tpl, parts);
      expect(Buffer.concat(raw).toString('latin1')).toBe(plain);
      expect(Buffer.concat(data).toString('latin1')).toBe(reference(plain));
    }
  });

  it('httpsUrlMaker gives unsubscribeHttpsUrl byte for byte, for bases with queries, old tokens, fragments and odd tokens', () => {
    const tokens = [unsubscribeToken(config.email.listId, 'a@example.com', 's'), 'abc.DEF_-', 'needs escaping/&=?', ''];
    for (const base of ['https://s.example.org/unsubscribe', 'https://s.example.org/u?list=a%20b&x=1', 'https://s.example.org/u?token=old&z=2#frag', 'https://S.EXAMPLE.org:443/a/../u?q=ü', 'http://s.example.org/u?token=1&token=2']) {
      const make = httpsUrlMaker(base);
      for (const t of tokens) expect(make(t), `${base} ${t}`).toBe(unsubscribeHttpsUrl(base, t));
    }
    expect(httpsUrlMaker(null)('x')).toBeNull();
  });

  it('httpsUrlMaker checks the URL once: a scheme safeUrl refuses gives no URL for any token', () => {
    const make = httpsUrlMaker('ftp://s.example.org/unsubscribe');
    for (const t of [unsubscribeToken(config.email.listId, 'a@example.com', 's'), 'needs escaping/&=?']) expect(make(t)).toBe('');
  });

  it("deliver()'s URLs checked once per issue give every message byte for byte as checking each recipient's parts does", async () => {
    const now = new Date('2026-11-30T07:00:00Z');
    const emails = ['a@example.com', 'b.c+tag@example.org'];
    for (const [i, email] of [
      { unsubscribeUrl: 'https://S.example.org:443/a/../u?list=a%20b&token=old#frag', unsubscribeMailto: 'mailto:Unsub@Example.org' },
      { unsubscribeUrl: 'http://s.example.org/u', unsubscribeMailto: null },
      { unsubscribeUrl: null, unsubscribeMailto: 'unsubscribe@example.org' },
      { unsubscribeUrl: null, unsubscribeMailto: null },
      // Refused (a config that skipped validation): no https link anywhere, as before.
      { unsubscribeUrl: 'ftp://s.example.org/u', unsubscribeMailto: 'unsubscribe@example.org' },
    ].entries()) {
      const c = testConfig(email);
      const sinkT = createJsonTransport();
      const subs = parseSubscribers(emails.join('\n'), 't', c.email.listId).subscribers;
      await deliver({ digest, rendered: suite.rendered, config: c, subscribers: subs, transport: sinkT, ledgerDir: path.join(suite.dir, `checked-${i}`), now, dryRun: false, secret: 's', dkim: null, concurrency: 1 });
      const tpl = await buildMessageTemplate(suite.rendered, { from: c.email.from, replyTo: c.email.replyTo, listId: c.email.listId, listName: c.site.title, date: now });
      const mailto = unsubscribeMailtoUrl(c.email.unsubscribeMailto);
      const expected = subs.map((sub) => {
        const https = c.email.unsubscribeUrl ? unsubscribeHttpsUrl(c.email.unsubscribeUrl, unsubscribeToken(c.email.listId, sub.email, 's')) : null;
        return spliceMessage(tpl, { to: sub.email, messageId: messageIdFor(digest.id, sub.hash, tpl.idDomain), unsubscribeHttps: https, unsubscribeMailto: mailto, bodyUnsubscribeUrl: https ?? mailto ?? '' });
      });
      expect(sinkT.messages.map((m) => m.raw), JSON.stringify(email)).toEqual(expected);
    }
  });

  it('qpEncodeValue is nodemailer qp.encode for URLs, HTML-escaped URLs, spaces, "=" and non-ASCII', () => {
    for (const v of ['https://s.example.org/u?token=abc_-.~', 'https://x.org/?a=1&amp;b=2', 'mailto:u@example.org?subject=unsubscribe', 'a b', 'trailing ', 'tab\tx\t', 'é=ü', '', '=3D']) {
      expect(qpEncodeValue(v), v).toBe(qp.encode(v));
    }
  });

  it('over SMTP the server receives exactly the spliced message, dots and all', async () => {
    suite.sink.reset();
    const dotty: RenderedEmail = { ...suite.rendered, text: `.a dot\n${suite.rendered.text}` };
    const subs = parseSubscribers('dots@example.com', 't', config.email.listId).subscribers;
    const transport = createSmtpTransport(suite.sink.url(), { maxConnections: 1 });
    const outbox = createTransport({}, { outboxDir: path.join(suite.dir, 'outbox'), rateLimitPerSecond: 0 });
    try {
      await deliver({ digest, rendered: dotty, config, subscribers: subs, transport, ledgerDir: path.join(suite.dir, 'smtp'), now: new Date('2026-11-30T07:00:00Z'), dryRun: false, secret: 's', dkim: null });
      await deliver({ digest, rendered: dotty, config, subscribers: subs, transport: outbox, ledgerDir: path.join(suite.dir, 'ob'), now: new Date('2026-11-30T07:00:00Z'), dryRun: false, secret: 's', dkim: null });
    } finally {
      await transport.close();
    }
    expect(suite.sink.messages).toHaveLength(1);
    const file = path.join(suite.dir, 'outbox', `${digest.id}.${subs[0]!.hash.slice(0, 32)}.eml`);
    // smtp-server undoes the dot-stuffing: what it holds is the outbox file byte for byte.
    expect(suite.sink.messages[0]!.raw).toBe(readFileSync(file, 'latin1'));
    expect(suite.sink.messages[0]!.raw).toMatch(/\r\n\.a dot/);
  });
});

describe('ledger sync modes', () => {
  it('commit and background both record every send; a bad DIGEST_LEDGER_SYNC is a configuration error', async () => {
    for (const mode of ['commit', 'background'] as const) {
      suite.sink.reset();
      const subs = parseSubscribers(Array.from({ length: 6 }, (_, i) => `${mode}${i}@example.com`).join('\n'), 't', config.email.listId).subscribers;
      const transport = createSmtpTransport(suite.sink.url(), { maxConnections: 2 });
      const ledgerDir = path.join(suite.dir, `sync-${mode}`);
      try {
        const s = await deliver({ digest, rendered: suite.rendered, config, subscribers: subs, transport, ledgerDir, now: new Date(), dryRun: false, secret: 's', dkim: null, env: { DIGEST_LEDGER_SYNC: mode } });
        expect(s.sent).toBe(6);
      } finally {
        await transport.close();
      }
      const states = SendLedger.read(ledgerDir, digest.id).map((r) => r.state);
      expect(states.filter((x) => x === 'attempting')).toHaveLength(6);
      expect(states.filter((x) => x === 'sent')).toHaveLength(6);
    }
    const transport = createSmtpTransport(suite.sink.url());
    await expect(deliver({ digest, rendered: suite.rendered, config, subscribers: [], transport, ledgerDir: suite.dir, now: new Date(), dryRun: false, secret: 's', dkim: null, env: { DIGEST_LEDGER_SYNC: 'sometimes' } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await transport.close();
  });
});

describe('STARTTLS with a certificate that does not verify', () => {
  let server: SMTPServer;
  let port = 0;
  let received = 0;
  beforeAll(async () => {
    // smtp-server's bundled certificate has expired: exactly the case to report clearly.
    server = new SMTPServer({ authOptional: true, logger: false, disableReverseLookup: true, onData(stream, _s, cb) { stream.resume(); stream.on('end', () => { received++; cb(); }); } });
    server.on('error', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('verify() is SMTP_TLS_FAILED naming the certificate problem, with a hint; ?tls=insecure and SMTP_TLS_REJECT_UNAUTHORIZED=0 accept it', async () => {
    const strict = createSmtpTransport(`smtp://127.0.0.1:${port}`);
    const err = await strict.verify().then(() => null, (e: unknown) => e);
    await strict.close();
    expect(err).toMatchObject({ code: 'SMTP_TLS_FAILED' });
    expect(String((err as Error).message)).toMatch(/certificate/i);
    expect(String((err as { hint: string }).hint)).toMatch(/tls=insecure/);
    expect(String((err as { hint: string }).hint)).toMatch(/SMTP_TLS_REJECT_UNAUTHORIZED=0/);

    expect(smtpSettings(`smtp://127.0.0.1:${port}/?tls=insecure`).rejectUnauthorized).toBe(false);
    for (const t of [createSmtpTransport(`smtp://127.0.0.1:${port}/?tls=insecure`), createTransport({ SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_TLS_REJECT_UNAUTHORIZED: '0' }, { outboxDir: suite.dir, rateLimitPerSecond: 0 })]) {
      await t.verify();
      const res = await t.send({ raw: 'Subject: tls\r\n\r\nover TLS\r\n', from: 'digest@example.org', to: 'r@example.com', messageId: '<tls.1@example.org>' });
      expect(res.accepted).toBe(true);
      await t.close();
    }
    expect(received).toBe(2);
  });
});
