/**
 * The MIME message, built ONCE per issue with nodemailer's MailComposer into a raw template, then spliced
 * per recipient (To, Message-ID, List-Unsubscribe, the unsubscribe URL in both bodies). Building MIME per
 * message is nodemailer's ~3.5 ms/message ceiling; splicing is string concatenation (field notes: ~2× faster
 * end to end over SMTP).
 *
 * Everything spliced is ASCII we produce ourselves: addresses passed `normalizeAddress` (no CR/LF, quotes,
 * angle brackets), Message-IDs are hex, URLs are quoted-printable encoded here. The two bodies are encoded by
 * us as quoted-printable (handed to MailComposer as `raw` parts) so the placeholder can never be split by a
 * soft line break we did not choose.
 */
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import DKIM from 'nodemailer/lib/dkim';
import * as qp from 'nodemailer/lib/qp';
import type { RenderedEmail } from '../model.js';
import { escapeHtml, safeUrl } from '../render/helpers.js';

const HEADER_MARK = 'dd-splice-headers.0f9e@splice.invalid';
const TEXT_MARK = '@@DD-SPLICE-TEXT-0f9e@@';
const HTML_MARK = '@@DD-SPLICE-HTML-0f9e@@';
/** Encoded lines are kept to 75 characters so one more '=' (our soft break) stays within RFC 2045's 76. */
const QP_LINE = 75;

export interface MessageTemplate {
  /** The raw message cut at the splice points (pieceBytes[i], then a value, in the order of `slots`), and the
   * same pieces in SMTP DATA form (CRLF, leading dots doubled), both made once per issue. */
  pieceBytes: Buffer[];
  pieceData: Buffer[];
  slots: ('headers' | 'text' | 'html')[];
  /** Domain for Message-IDs (from the From address). */
  idDomain: string;
}

export interface RecipientParts {
  to: string;
  messageId: string;
  /** https endpoint with token (RFC 8058 one-click), or null. */
  unsubscribeHttps: string | null;
  /** mailto: URL, or null. */
  unsubscribeMailto: string | null;
  /** The link shown in the body: the https one when set, else the mailto. */
  bodyUnsubscribeUrl: string;
}

/**
 * A recipient's parts with every URL already through safeUrl ('' when none or refused): spliced as they are.
 * deliver() checks an issue's unsubscribe URLs once (send.ts, prepare) and only puts each recipient's token in.
 */
export interface CheckedParts {
  to: string;
  messageId: string;
  unsubscribeHttps: string;
  unsubscribeMailto: string;
  /** List-Unsubscribe-Post (RFC 8058): only with an https URI, which the signature then covers with the rest. */
  oneClick: boolean;
  bodyUnsubscribeUrl: string;
}

export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** Every line break as CRLF (bare CR or LF included), as SMTP DATA wants. */
export function crlf(s: string): string {
  return s.replace(/\r\n|\r|\n/g, '\r\n');
}

/** Quoted-printable encode text that may hold a splice mark: each side encoded alone, the mark kept verbatim. */
function qpWithMark(body: string, placeholder: string, mark: string): string {
  return crlf(body)
    .split(placeholder)
    .map((seg) => qp.wrap(qp.encode(seg), QP_LINE))
    .join(`=\r\n${mark}=\r\n`);
}

/** The address part of "Name <a@b>" or a bare address. */
export function addressOf(from: string): string {
  const m = /<([^<>]+)>\s*$/.exec(from);
  return (m ? m[1]! : from).trim();
}

/** Stable per (issue, recipient): a resend after a crash carries the same id, so clients can fold duplicates. */
export function messageIdFor(issueId: string, recipientHash: string, idDomain: string): string {
  return `<${issueId.replace(/[^A-Za-z0-9.-]/g, '-')}.${recipientHash.slice(0, 32)}@${idDomain}>`;
}

/** Build the issue's message once. `date` is the run's `now` (the Date header), passed in, never read here. */
export async function buildMessageTemplate(
  rendered: RenderedEmail,
  opts: { from: string; replyTo: string | null; listId: string; listName: string; date: Date; headers?: Record<string, string> },
): Promise<MessageTemplate> {
  const placeholder = rendered.placeholders.unsubscribeUrl;
  const textRaw = `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qpWithMark(rendered.text, placeholder, TEXT_MARK)}`;
  const htmlRaw = `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qpWithMark(rendered.html, placeholder, HTML_MARK)}`;
  const composer = new MailComposer({
    from: opts.from,
    ...(opts.replyTo ? { replyTo: opts.replyTo } : {}),
    subject: rendered.subject,
    date: opts.date,
    messageId: `<${HEADER_MARK}>`,
    headers: { 'List-Id': `${opts.listName.replace(/[<>"\r\n]/g, '')} <${opts.listId}>`, ...opts.headers },
    text: { raw: textRaw },
    html: { raw: htmlRaw },
    // Derived from the content, not random: the same issue gives byte-identical messages (reviewable outbox).
    baseBoundary: createHash('sha256').update(rendered.subject).update('\0').update(rendered.text).update('\0').update(rendered.html).digest('hex').slice(0, 16),
  });
  const raw = (await composer.compile().build()).toString('latin1');
  const idLine = new RegExp(`^Message-ID: <${HEADER_MARK.replace(/[.]/g, '\\.')}>\\r\\n`, 'im');
  if (!idLine.test(raw)) throw new Error('MailComposer output lacks the Message-ID splice point');
  const withMark = raw.replace(idLine, `${HEADER_MARK}\r\n`);
  const pieces: string[] = [];
  const slots: MessageTemplate['slots'] = [];
  const re = new RegExp(`${HEADER_MARK.replace(/[.]/g, '\\.')}\\r\\n|${TEXT_MARK}|${HTML_MARK}`, 'g');
  let last = 0;
  for (const m of withMark.matchAll(re)) {
    pieces.push(withMark.slice(last, m.index));
    slots.push(m[0].startsWith(HEADER_MARK) ? 'headers' : m[0] === TEXT_MARK ? 'text' : 'html');
    last = m.index! + m[0].length;
  }
  pieces.push(withMark.slice(last));
  // A piece starts a line when it opens the message or follows the header block (which ends with CRLF);
  // after a body mark it starts with the "=" of our soft break.
  const pieceData = pieces.map((p, i) => Buffer.from(dotStuff(crlf(p), i === 0 || slots[i - 1] === 'headers'), 'latin1'));
  const domain = addressOf(opts.from).split('@')[1] ?? opts.listId;
  return { pieceBytes: pieces.map((p) => Buffer.from(p, 'latin1')), pieceData, slots, idDomain: domain.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'localhost' };
}

/** The per-recipient header block. */
function headerBlock(c: CheckedParts): string {
  const lines = [`To: ${c.to}`, `Message-ID: ${c.messageId}`];
  const uris = [c.unsubscribeHttps, c.unsubscribeMailto].filter((u) => !!u);
  if (uris.length) lines.push(`List-Unsubscribe: ${uris.map((u) => `<${u}>`).join(',\r\n ')}`);
  if (c.oneClick) lines.push('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  for (const l of lines) if (/[^\x20-\x7e\r\n]/.test(l)) throw new Error('per-recipient header is not printable ASCII');
  return lines.join('\r\n') + '\r\n';
}

/** Each URL of `p` through safeUrl: for callers that have no issue's checked values (a single message, tests). */
export function checkParts(p: RecipientParts): CheckedParts {
  const https = safeUrl(p.unsubscribeHttps);
  return {
    to: p.to,
    messageId: p.messageId,
    unsubscribeHttps: https,
    unsubscribeMailto: safeUrl(p.unsubscribeMailto),
    oneClick: p.unsubscribeHttps !== null && https.startsWith('https:'),
    bodyUnsubscribeUrl: safeUrl(p.bodyUnsubscribeUrl),
  };
}

/** Double a "." that starts a line (RFC 5321 4.5.2); `atLineStart`: whether `s` itself begins a line. */
export function dotStuff(s: string, atLineStart: boolean): string {
  return s.replace(atLineStart ? /(^|\n)\./g : /(\n)\./g, '$1..');
}

/** What goes into each slot: checked values, encoded (the HTML part's link escaped as personalize() escapes it). */
function slotValues(c: CheckedParts): Record<MessageTemplate['slots'][number], string> {
  return {
    headers: headerBlock(c),
    text: qp.wrap(qpEncodeValue(c.bodyUnsubscribeUrl), QP_LINE),
    html: qp.wrap(qpEncodeValue(escapeHtml(c.bodyUnsubscribeUrl)), QP_LINE),
  };
}

const HEX = '0123456789ABCDEF';

/**
 * Quoted-printable encoding of one short spliced value, byte for byte what nodemailer's qp.encode gives for
 * it (test/deliver/wire.test.ts compares them), minus its cost: in deliver(), after encoding the 100 KB
 * template, qp.encode was the largest per-recipient cost in the profile (~0.5 ms per recipient; V8 kept
 * deoptimizing it, --trace-deopt). Values are URLs (safeUrl: ASCII, no controls), so the usual path is a test.
 */
export function qpEncodeValue(s: string): string {
  if (/^[\x21-\x3c\x3e-\x7e]*$/.test(s)) return s;
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const next = bytes[i + 1];
    const literal = (b >= 0x20 && b <= 0x7e && b !== 0x3d) || b === 0x09 || b === 0x0a || b === 0x0d;
    // Whitespace before a line break or at the end is encoded, as RFC 2045 requires.
    const trailingSpace = (b === 0x20 || b === 0x09) && (next === undefined || next === 0x0a || next === 0x0d);
    out += literal && !trailingSpace ? String.fromCharCode(b) : `=${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * One recipient's raw message for a caller without an issue's checked values (the confirmation mail, tests):
 * their parts checked here, then spliced as deliver splices them. No MIME building.
 */
export function spliceMessage(tpl: MessageTemplate, p: RecipientParts): string {
  return Buffer.concat(spliceCheckedBytes(tpl, checkParts(p)).raw).toString('latin1');
}

/**
 * One recipient's message as chunks of bytes, twice: `raw` (concatenated, what spliceMessage gives) and `data`,
 * its SMTP DATA form for the smtp transport, made from the template's pre-escaped pieces, so nothing of the
 * 100 KB is scanned or copied per recipient (the chunks go to the socket as they are). Every value begins a
 * line (after a header's CRLF or our "=" soft break), so only its own leading dots need doubling.
 */
export function spliceCheckedBytes(tpl: MessageTemplate, c: CheckedParts): { raw: Buffer[]; data: Buffer[] } {
  const values = slotValues(c);
  const raw: Buffer[] = [tpl.pieceBytes[0]!];
  const data: Buffer[] = [tpl.pieceData[0]!];
  for (let i = 0; i < tpl.slots.length; i++) {
    const v = values[tpl.slots[i]!];
    const vb = Buffer.from(v, 'latin1');
    raw.push(vb, tpl.pieceBytes[i + 1]!);
    data.push(v.startsWith('.') || v.includes('\n.') ? Buffer.from(dotStuff(v, true), 'latin1') : vb, tpl.pieceData[i + 1]!);
  }
  return { raw, data };
}

/** DKIM-sign one raw message (relaxed/relaxed, sha256, nodemailer's signer; covers List-Unsubscribe(-Post)). */
export async function signDkim(raw: string | Buffer, dkim: DkimOptions): Promise<Buffer> {
  const signer = new DKIM({ domainName: dkim.domainName, keySelector: dkim.keySelector, privateKey: dkim.privateKey });
  const stream = signer.sign(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : (c as Buffer));
  return Buffer.concat(chunks);
}

/** DKIM options from DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN; null when no key is set. */
export function dkimFromEnv(env: NodeJS.ProcessEnv, fromAddress: string): DkimOptions | null {
  const key = env.DKIM_PRIVATE_KEY;
  if (!key || !key.trim()) return null;
  // CI secrets often arrive with literal "\n" instead of newlines.
  const privateKey = key.includes('-----BEGIN') && !key.includes('\n') ? key.replace(/\\n/g, '\n') : key;
  return {
    privateKey,
    keySelector: env.DKIM_SELECTOR || 'default',
    domainName: env.DKIM_DOMAIN || (addressOf(fromAddress).split('@')[1] ?? ''),
  };
}
