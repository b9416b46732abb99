import { generateKeyPairSync } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { describe, expect, it } from 'vitest';
import { createConfirmationMailer } from '../../src/serve/mail.js';

const base = { from: 'Debate Digest <digest@example.org>', replyTo: null, listId: 'debate-digest.example.org', siteTitle: 'Debate Digest', siteUrl: 'https://archive.example.org/', expiresHours: 48 };
const link = (n: number) => `https://subs.example.org/confirm?token=nonce${n}.1790000000.${'m'.repeat(43)}&x=1`;

describe('confirmation mail (built once, spliced per recipient)', () => {
  it('carries each recipient\'s own link in both parts, and nothing of another\'s', async () => {
    const mailer = createConfirmationMailer({ ...base, dkim: null });
    const date = new Date('2026-11-30T09:00:30Z');
    const a = await mailer.build('ann@example.com', link(1), 'nonce-a', date);
    const b = await mailer.build('ben@example.com', link(2), 'nonce-b', date);
    const pa = await simpleParser(a.raw);
    const pb = await simpleParser(b.raw);
    expect(pa.subject).toBe('Confirm your subscription to Debate Digest');
    expect(pa.to && !Array.isArray(pa.to) ? pa.to.text : '').toBe('ann@example.com');
    expect(pa.text).toContain(link(1));
    expect(pa.html).toContain(`href="${link(1).replace(/&/g, '&amp;')}"`);
    expect(pb.text).toContain(link(2));
    expect(a.raw.toString('latin1')).not.toContain('ben@example.com');
    expect(b.raw.toString('latin1')).not.toMatch(/nonce1|ann@example\.com/);
    expect(pa.headers.get('auto-submitted')).toBe('auto-replied');
    expect(pa.headers.has('list-unsubscribe')).toBe(false);
    expect(pa.messageId).not.toBe(pb.messageId);
    expect(pa.messageId).not.toContain('nonce-a');
    expect(pa.date?.toISOString()).toBe('2026-11-30T09:00:00.000Z');
    // Lines stay within RFC 5322's limit although the link is longer than 76 characters.
    for (const line of a.raw.toString('latin1').split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
  });

  it('moves the Date header on with the clock', async () => {
    const mailer = createConfirmationMailer({ ...base, dkim: null });
    await mailer.build('ann@example.com', link(1), 'n1', new Date('2026-11-30T09:00:00Z'));
    const later = await simpleParser((await mailer.build('ann@example.com', link(1), 'n2', new Date('2026-11-30T10:15:10Z'))).raw);
    expect(later.date?.toISOString()).toBe('2026-11-30T10:15:00.000Z');
  });

  it('is DKIM-signed when a key is configured, and the signature breaks if the link is altered', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === 'sel._domainkey.example.org') return [[`v=DKIM1; k=rsa; p=${p}`]];
      throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    };
    const mailer = createConfirmationMailer({ ...base, dkim: { domainName: 'example.org', keySelector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    const m = await mailer.build('ann@example.com', link(1), 'n', new Date('2026-11-30T09:00:00Z'));
    const ok = await dkimVerify(m.raw, { resolver } as never);
    expect(ok.results[0]!.status.result).toBe('pass');
    const tampered = Buffer.from(m.raw.toString('latin1').replace('nonce1', 'nonce9'), 'latin1');
    // mailauth calls a body-hash mismatch "neutral" (and a header mismatch "fail"): either way not a pass.
    const bad = (await dkimVerify(tampered, { resolver } as never)).results[0]!.status;
    expect(bad.result).not.toBe('pass');
    expect(JSON.stringify(bad)).toMatch(/body hash/);
  });
});
