/**
 * The confirmation email, built with nodemailer's MailComposer and handed to a deliver transport as raw
 * bytes. The recipient passed normalizeAddress (no CR/LF, quotes or angle brackets), so it is safe in To:.
 */
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { addressOf } from '../deliver/headers.js';
import { escapeHtml } from './pages.js';

export interface ConfirmationMail {
  raw: Buffer;
  from: string;
  to: string;
  messageId: string;
}

export async function buildConfirmationMail(o: {
  from: string;
  replyTo: string | null;
  to: string;
  siteTitle: string;
  siteUrl: string;
  confirmUrl: string;
  expiresHours: number;
  nonce: string;
  date: Date;
}): Promise<ConfirmationMail> {
  const fromAddress = addressOf(o.from);
  const domain = (fromAddress.split('@')[1] ?? 'localhost').toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'localhost';
  // Derived from the nonce, not the nonce itself: the outbox names files after Message-IDs.
  const messageId = `<confirm.${createHash('sha256').update(o.nonce).digest('hex').slice(0, 32)}@${domain}>`;
  const text = [
    `Someone, probably you, asked to subscribe this address to ${o.siteTitle}.`,
    '',
    'To confirm, open this link and press the button on the page:',
    o.confirmUrl,
    '',
    `The link works for ${o.expiresHours} hours. If you did not ask, ignore this message: you will not be subscribed.`,
    '',
    o.siteUrl,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>Someone, probably you, asked to subscribe this address to <strong>${escapeHtml(o.siteTitle)}</strong>.</p>
<p><a href="${escapeHtml(o.confirmUrl)}">Confirm your subscription</a> (the link opens a page with a button).</p>
<p style="color:#555">The link works for ${o.expiresHours} hours. If you did not ask, ignore this message: you will not be subscribed.</p>
<p style="color:#555"><a href="${escapeHtml(o.siteUrl)}">${escapeHtml(o.siteTitle)}</a></p>
</body></html>`;
  const composer = new MailComposer({
    from: o.from,
    ...(o.replyTo ? { replyTo: o.replyTo } : {}),
    to: o.to,
    subject: `Confirm your subscription to ${o.siteTitle}`,
    date: o.date,
    messageId,
    // RFC 3834: an automatic reply to a request; tells vacation responders not to answer.
    headers: { 'Auto-Submitted': 'auto-replied' },
    text,
    html,
  });
  const raw = await composer.compile().build();
  return { raw, from: fromAddress, to: o.to, messageId };
}
