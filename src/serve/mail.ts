/**
 * The confirmation email. Built with nodemailer's MailComposer once (per minute, for the Date header) through
 * the deliver step's template helpers, then spliced per request: To, Message-ID and the confirmation link.
 * MIME building costs milliseconds of CPU per message (field notes); splicing costs microseconds, so a burst
 * of sign-ups does not queue behind the mail builder. Signed with DKIM when DKIM_PRIVATE_KEY is set, like the
 * issues themselves.
 *
 * The recipient passed normalizeAddress (no CR/LF, quotes or angle brackets), so it is safe in To:.
 */
import { createHash } from 'node:crypto';
import type { RenderedEmail } from '../model.js';
import { addressOf, buildMessageTemplate, signDkim, spliceMessage, type DkimOptions, type MessageTemplate } from '../deliver/headers.js';
import { escapeHtml } from '../render/helpers.js';

export interface ConfirmationMail {
  raw: Buffer;
  from: string;
  to: string;
  messageId: string;
}

/** Stands for the confirmation link in the template; replaced per recipient. */
const LINK_PLACEHOLDER = 'https://confirm.invalid/dd-confirm-placeholder-5b1e';

export interface MailerOptions {
  from: string;
  replyTo: string | null;
  listId: string;
  siteTitle: string;
  siteUrl: string;
  expiresHours: number;
  dkim: DkimOptions | null;
}

/** The message minus the per-recipient parts, as RenderedEmail so deliver's splicer can fill it. */
export function confirmationBodies(o: Pick<MailerOptions, 'siteTitle' | 'siteUrl' | 'expiresHours'>, link: string): { subject: string; text: string; html: string } {
  const text = [
    `Someone, probably you, asked to subscribe this address to ${o.siteTitle}.`,
    '',
    'To confirm, open this link and press the button on the page:',
    link,
    '',
    `The link works for ${o.expiresHours} hours. If you did not ask, ignore this message: you will not be subscribed.`,
    '',
    o.siteUrl,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>Someone, probably you, asked to subscribe this address to <strong>${escapeHtml(o.siteTitle)}</strong>.</p>
<p><a href="${link}">Confirm your subscription</a> (the link opens a page with a button).</p>
<p style="color:#555">The link works for ${o.expiresHours} hours. If you did not ask, ignore this message: you will not be subscribed.</p>
<p style="color:#555"><a href="${escapeHtml(o.siteUrl)}">${escapeHtml(o.siteTitle)}</a></p>
</body></html>`;
  return { subject: `Confirm your subscription to ${o.siteTitle}`, text, html };
}

export function createConfirmationMailer(o: MailerOptions) {
  const bodies = confirmationBodies(o, LINK_PLACEHOLDER);
  const rendered: RenderedEmail = { ...bodies, htmlBytes: Buffer.byteLength(bodies.html), trimmed: 0, placeholders: { unsubscribeUrl: LINK_PLACEHOLDER } };
  const fromAddress = addressOf(o.from);
  let cached: { minute: number; tpl: Promise<MessageTemplate> } | null = null;

  const template = (date: Date): Promise<MessageTemplate> => {
    const minute = Math.floor(date.getTime() / 60_000);
    if (!cached || cached.minute !== minute) {
      // RFC 3834: an automatic reply to a request; vacation responders should not answer it.
      const tpl = buildMessageTemplate(rendered, { from: o.from, replyTo: o.replyTo, listId: o.listId, listName: o.siteTitle, date: new Date(minute * 60_000), headers: { 'Auto-Submitted': 'auto-replied' } });
      cached = { minute, tpl };
      // A failed build must not be cached for the rest of the minute.
      tpl.catch(() => {
        if (cached?.tpl === tpl) cached = null;
      });
    }
    return cached.tpl;
  };

  return {
    async build(to: string, confirmUrl: string, nonce: string, date: Date): Promise<ConfirmationMail> {
      const tpl = await template(date);
      // Derived from the nonce, not the nonce itself: the outbox names files after Message-IDs.
      const messageId = `<confirm.${createHash('sha256').update(nonce).digest('hex').slice(0, 32)}@${tpl.idDomain}>`;
      const raw = spliceMessage(tpl, { to, messageId, unsubscribeHttps: null, unsubscribeMailto: null, bodyUnsubscribeUrl: confirmUrl });
      const bytes = o.dkim ? await signDkim(raw, o.dkim) : Buffer.from(raw, 'latin1');
      return { raw: bytes, from: fromAddress, to, messageId };
    },
  };
}
