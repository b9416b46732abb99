/**
 * One contract, every transport (house style 7): outbox, smtp (real server on 127.0.0.1) and json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { createJsonTransport, createOutboxTransport, createSmtpTransport, createTransport, outboxFileName, smtpSettings, type Transport } from '../../src/deliver/transports.js';
import { DigestError } from '../../src/errors.js';
import { startSink, type Sink } from './smtp-sink.js';

let sink: Sink;
let work: string;
beforeAll(async () => {
  sink = await startSink();
  work = mkdtempSync(path.join(tmpdir(), 'dd-transport-'));
});
afterAll(async () => {
  await sink.close();
  rmSync(work, { recursive: true, force: true });
});

const raw = (to: string, id: string) =>
  `From: <digest@example.org>\r\nTo: <${to}>\r\nSubject: contract\r\nMessage-ID: ${id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n.leading dot survives\r\n`;

interface Harness {
  make(): Transport;
  /** What the far side received, as raw messages. */
  received(): string[];
}

const harnesses: Record<'outbox' | 'smtp' | 'json', () => Harness> = {
  outbox: () => {
    const dir = mkdtempSync(path.join(work, 'outbox-'));
    return { make: () => createOutboxTransport(dir), received: () => readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(path.join(dir, f), 'latin1')) };
  },
  smtp: () => {
    sink.reset();
    return { make: () => createSmtpTransport(sink.url(), { maxConnections: 2 }), received: () => sink.messages.map((m) => m.raw) };
  },
  json: () => {
    const t = createJsonTransport();
    return { make: () => t, received: () => t.messages.map((m) => m.raw ?? '') };
  },
};

for (const [name, harness] of Object.entries(harnesses)) {
  describe(`transport contract: ${name}`, () => {
    it('has its name, verifies, sends raw messages unchanged, calls onCommit once before, and closes', async () => {
      const h = harness();
      const t = h.make();
      expect(t.name).toBe(name);
      await t.verify();
      let started = 0;
      const results = [];
      for (let i = 0; i < 3; i++) {
        results.push(await t.send({ raw: raw(`r${i}@example.com`, `<2026-11-30-3.${'ab'.repeat(15)}0${i}@example.org>`), from: 'digest@example.org', to: `r${i}@example.com`, messageId: `<2026-11-30-3.${'ab'.repeat(15)}0${i}@example.org>`, onCommit: () => { started++; } }));
      }
      expect(started).toBe(3);
      for (const r of results) {
        expect(r.accepted).toBe(true);
        expect(r.response).toMatch(/^250/);
      }
      const got = h.received();
      expect(got).toHaveLength(3);
      for (const [i, m] of got.entries()) {
        const p = await simpleParser(m);
        expect(p.subject).toBe('contract');
        expect(String(p.text)).toContain('.leading dot survives');
        expect(p.messageId).toBe(`<2026-11-30-3.${'ab'.repeat(15)}0${i}@example.org>`);
      }
      await t.close();
    });

    it('does not send when onCommit throws', async () => {
      const h = harness();
      const t = h.make();
      await t.verify();
      const before = h.received().length;
      await expect(t.send({ raw: raw('x@example.com', '<id.1@example.org>'), from: 'digest@example.org', to: 'x@example.com', messageId: '<id.1@example.org>', onCommit: () => { throw new Error('stop'); } })).rejects.toThrow();
      expect(h.received().length).toBe(before);
      await t.close();
    });
  });
}

describe('transport selection and naming', () => {
  it('SMTP_URL → smtp, DIGEST_TRANSPORT=json → json, else outbox', () => {
    expect(createTransport({ SMTP_URL: 'smtp://u:p@127.0.0.1:2525' }, { outboxDir: work, rateLimitPerSecond: 0 }).name).toBe('smtp');
    expect(createTransport({ DIGEST_TRANSPORT: 'json' }, { outboxDir: work, rateLimitPerSecond: 0 }).name).toBe('json');
    expect(createTransport({}, { outboxDir: work, rateLimitPerSecond: 0 }).name).toBe('outbox');
  });

  it('names outbox files by issue and recipient hash, never the address, and never escapes the folder', () => {
    expect(outboxFileName('<2026-11-30-3.0123abcd@example.org>')).toBe('2026-11-30-3.0123abcd.eml');
    expect(outboxFileName('<../../etc/passwd@x>')).not.toContain('/');
    expect(() => outboxFileName('<@x>')).toThrow(DigestError);
  });

  it('reads SMTP_URL settings and rejects other schemes', () => {
    expect(smtpSettings('smtps://a%40b:p%3Ass@mail.example.org')).toMatchObject({ host: 'mail.example.org', port: 465, secure: true, auth: { user: 'a@b', pass: 'p:ss' } });
    expect(smtpSettings('smtp://mail.example.org')).toMatchObject({ port: 587, secure: false, auth: null });
    expect(() => smtpSettings('http://mail.example.org')).toThrow(DigestError);
  });

  it('verify() on an unreachable server is SMTP_UNREACHABLE and on bad credentials SMTP_AUTH_FAILED', async () => {
    const closed = createSmtpTransport('smtp://127.0.0.1:1/?ignoreTLS=true', { connectionTimeoutMs: 2000 });
    await expect(closed.verify()).rejects.toMatchObject({ code: 'SMTP_UNREACHABLE' });
    await closed.close();
    const bad = createSmtpTransport(sink.url({ badPassword: true }));
    await expect(bad.verify()).rejects.toMatchObject({ code: 'SMTP_AUTH_FAILED' });
    await bad.close();
  });
});

describe('smtp message transactions', () => {
  const msg = (to: string) => ({ raw: raw(to, `<t.${to.split('@')[0]}@example.org>`), from: 'digest@example.org', to, messageId: `<t.${to.split('@')[0]}@example.org>` });

  for (const pipelining of [true, false]) {
    it(`${pipelining ? 'with' : 'without'} PIPELINING: a refused recipient is EENVELOPE with its code, the session carries on (RSET) and the next message goes through`, async () => {
      let sessions = 0;
      const got: string[] = [];
      const server = new SMTPServer({
        disabledCommands: ['STARTTLS', 'AUTH'],
        hidePIPELINING: !pipelining,
        disableReverseLookup: true,
        logger: false,
        onConnect(_s, cb) {
          sessions++;
          cb();
        },
        onRcptTo(addr, _s, cb) {
          if (addr.address.startsWith('refused')) cb(Object.assign(new Error('5.1.1 <refused@example.com>: no such user'), { responseCode: 550 }));
          else cb();
        },
        onData(stream, s, cb) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            got.push(`${s.envelope.rcptTo[0]?.address} ${Buffer.concat(chunks).toString('latin1').includes('.leading dot survives')}`);
            cb();
          });
        },
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const t = createSmtpTransport(`smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}/?ignoreTLS=true`, { maxConnections: 1 });
      try {
        await t.verify();
        expect((await t.send(msg('a@example.com'))).accepted).toBe(true);
        let committed = false;
        const err = await t.send({ ...msg('refused@example.com'), onCommit: () => { committed = true; } }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' });
        expect(String((err as Error).message)).toMatch(/^Can't send mail - all recipients were rejected: 550/);
        expect(committed).toBe(false);
        expect((await t.send(msg('b@example.com'))).response).toMatch(/^250/);
        expect(got).toEqual(['a@example.com true', 'b@example.com true']);
        expect(sessions).toBe(1);
      } finally {
        await t.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    });
  }
});
