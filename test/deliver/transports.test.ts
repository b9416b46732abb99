/**
 * One contract, every transport (house style 7): outbox, smtp (real server on 127.0.0.1) and json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
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
