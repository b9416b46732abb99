/**
 * The email, rendered ONCE per issue: Handlebars fills templates/email/digest.mjml.hbs, MJML turns it into
 * HTML (~40 ms warm, the expensive step: never per recipient), and the per-recipient parts are left as
 * placeholders. deliver fills them into the issue's MIME message (src/deliver/headers.ts); `personalize`
 * fills them into the HTML and text themselves, for a preview.
 *
 * Pure apart from reading the template files once per process (they are code, shipped with the package).
 */
import { formatIssueDate } from '../compose/digest.js';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import type { Config, Digest, DigestQuote, RenderedEmail } from '../model.js';
import { DigestError } from '../errors.js';
import { escapeHtml, oneLine, registerHelpers, safeUrl, shortIssueDate, stanceLabel } from './helpers.js';
import { renderText } from './text.js';

/**
 * Our own ASCII token standing for the recipient's unsubscribe URL until it is filled in (deliver, or
 * `personalize`). It is a syntactically valid https URL so MJML and Handlebars pass it through untouched, and
 * `.invalid` so a copy that escaped personalisation can never reach a real host.
 */
export const UNSUBSCRIBE_PLACEHOLDER = 'https://unsubscribe.invalid/dd-recipient-placeholder-7f3a9c';

/** Room kept in the HTML budget for each placeholder: a real unsubscribe URL is longer than the token. */
const MAX_UNSUBSCRIBE_URL_BYTES = 400;

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface QuoteView {
  id: string;
  text: string;
  speakerName: string | null;
  sourceTitle: string;
  status: string;
  /** Named so it cannot shadow the `stanceLabel` helper inside templates. */
  stanceText: string;
  sources: { title: string; href: string; ref: string }[];
  /** "[1] [2]" for the text part. */
  sourceRefs: string;
  counterpoints: { text: string; speakerName: string | null; sourceTitle: string; href: string; ref: string; reason: string }[];
}

/** Everything the two email templates see. Strings are raw: the HTML template escapes them, the text one doesn't. */
export interface EmailView {
  lang: string;
  title: string;
  preheader: string;
  intro: string;
  number: number;
  dateLabel: string;
  webUrl: string;
  archiveUrl: string;
  siteTitle: string;
  /** "You get this email because you subscribed to <title>." (no doubled punctuation after a "?" title). */
  whyLine: string;
  senderLine: string;
  unsubscribeUrl: string;
  trimmed: number;
  sections: { title: string; description: string; quotes: QuoteView[] }[];
  /** Numbered links for the plain-text part. */
  links: { n: number; url: string }[];
}

interface Compiled {
  mjml: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
}

let compiled: Compiled | null = null;

/** Templates compiled once per process (Handlebars compile is ~1 ms, but it adds up in a bench loop). */
export function compiledTemplates(): Compiled {
  if (compiled) return compiled;
  const hb = Handlebars.create();
  registerHelpers(hb);
  const partialsDir = path.join(TEMPLATES_DIR, 'partials');
  for (const file of readdirSync(partialsDir)) {
    if (!file.endsWith('.hbs')) continue;
    // Partials are used inline: a trailing newline would break the sentence they sit in.
    hb.registerPartial(file.replace(/\.hbs$/, ''), readFileSync(path.join(partialsDir, file), 'utf8').trimEnd());
  }
  const read = (name: string) => readFileSync(path.join(TEMPLATES_DIR, 'email', name), 'utf8');
  compiled = {
    mjml: hb.compile(read('digest.mjml.hbs'), { strict: false }),
    text: hb.compile(read('digest.txt.hbs'), { noEscape: true }),
  };
  return compiled;
}

/** Quotes ordered from the one we would drop first: lowest score, ties broken by id (deterministic). */
function dropOrder(digest: Digest): string[] {
  const all = digest.sections.flatMap((s) => s.quotes);
  return [...all].sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((q) => q.id);
}

/** Build the view both templates render, leaving out the quotes in `drop`. */
export function buildEmailView(digest: Digest, config: Config, opts: { webUrl: string; archiveUrl: string }, drop: ReadonlySet<string> = new Set()): EmailView {
  const links: { n: number; url: string }[] = [];
  const refOf = new Map<string, number>();
  const ref = (u: string | null): { href: string; ref: string } => {
    const href = safeUrl(u);
    if (!href) return { href: '', ref: '' };
    let n = refOf.get(href);
    if (n === undefined) {
      n = links.length + 1;
      refOf.set(href, n);
      links.push({ n, url: href });
    }
    return { href, ref: `[${n}]` };
  };
  const quoteView = (q: DigestQuote): QuoteView => {
    // The first citation is the quote's own source; further ones corroborate the same words.
    const cites = q.citations.length > 0 ? q.citations.map((c) => ({ title: c.title || c.source, url: c.url })) : [{ title: q.sourceTitle, url: q.url }];
    const seen = new Set<string>();
    const sources = cites
      .filter((c) => {
        const key = `${c.title}\u0000${c.url ?? ''}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, 4)
      .map((c) => ({ title: oneLine(c.title) || 'source', ...ref(c.url) }));
    return {
      id: q.id,
      text: q.text,
      speakerName: q.speakerName ? oneLine(q.speakerName) : null,
      sourceTitle: oneLine(q.sourceTitle) || 'an unnamed source',
      status: q.status,
      stanceText: stanceLabel(q.stance),
      sources,
      sourceRefs: sources.map((s) => s.ref).filter(Boolean).join(' '),
      counterpoints: q.counterpoints.map((c) => ({
        text: c.text,
        speakerName: c.speakerName ? oneLine(c.speakerName) : null,
        sourceTitle: oneLine(c.sourceTitle) || 'an unnamed source',
        ...ref(c.url),
        reason: oneLine(c.reason),
      })),
    };
  };
  const webUrl = safeUrl(opts.webUrl);
  // The web link goes first in the text part's list, so [1] is always the full issue.
  if (webUrl) ref(webUrl);
  const sections = digest.sections
    .map((s) => ({ title: oneLine(s.title), description: oneLine(s.description), quotes: s.quotes.filter((q) => !drop.has(q.id)).map(quoteView) }))
    .filter((s) => s.quotes.length > 0);
  return {
    lang: /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(config.site.language) ? config.site.language : 'en',
    title: oneLine(digest.title) || oneLine(config.site.title),
    preheader: oneLine(digest.preheader),
    intro: digest.intro,
    number: digest.number,
    dateLabel: formatIssueDate(digest.date, config.site.timeZone, config.site.language),
    webUrl,
    archiveUrl: safeUrl(opts.archiveUrl),
    siteTitle: oneLine(config.site.title),
    whyLine: `You get this email because you subscribed to ${oneLine(config.site.title)}${/[.?!…]$/.test(oneLine(config.site.title)) ? '' : '.'}`,
    senderLine: oneLine(config.email.senderLine),
    unsubscribeUrl: UNSUBSCRIBE_PLACEHOLDER,
    trimmed: drop.size,
    sections,
    links,
  };
}

/** The subject line: one line (no CR/LF/control characters: it becomes a header), with the issue number and date. */
export function emailSubject(digest: Digest, config: Config): string {
  const base = oneLine(digest.subject) || oneLine(digest.title) || oneLine(config.site.title);
  const date = formatIssueDate(digest.date, config.site.timeZone, config.site.language);
  const withNumber = base.includes(`#${digest.number}`) ? base : `${base} · #${digest.number}`;
  // compose writes the date in full ("November 30, 2026"); only a subject without any form of it gets one
  // (older records may carry the short "30 Nov 2026").
  const hasDate = [date, digest.date, shortIssueDate(digest.date, config.site.timeZone)].some((d) => d && withNumber.includes(d));
  // (An unreadable date formats as '': the subject then goes without one rather than end in "· ".)
  const withDate = hasDate || !date ? withNumber : `${withNumber} · ${date}`;
  // Long subjects get folded and truncated by clients anyway; keep it sane.
  return withDate.length > 200 ? withDate.slice(0, 199) + '…' : withDate;
}

async function renderHtml(view: EmailView): Promise<string> {
  const source = compiledTemplates().mjml(view);
  try {
    // minify (htmlnano) cuts ~25% of the bytes for ~20 ms; its CSS step costs ~0.4 s a render and saves
    // little more, and a binary search over trimming renders up to ~9 times: keep CSS as written.
    const out = await mjml2html(source, { validationLevel: 'strict', keepComments: false, minify: true, minifyOptions: { minifyCSS: false } });
    return out.html;
  } catch (err) {
    throw new DigestError('RENDER_FAILED', `MJML rejected the email: ${err instanceof Error ? err.message : String(err)}`, {
      origin: 'templates/email/digest.mjml.hbs',
      hint: 'the template or a value put into it produced invalid MJML; run the render tests',
      cause: err,
    });
  }
}

/** Bytes the HTML will have once personalised with the longest unsubscribe URL we allow for. */
function budgetBytes(html: string): number {
  const occurrences = html.split(UNSUBSCRIBE_PLACEHOLDER).length - 1;
  return Buffer.byteLength(html, 'utf8') + occurrences * Math.max(0, MAX_UNSUBSCRIBE_URL_BYTES - UNSUBSCRIBE_PLACEHOLDER.length);
}

/**
 * Render the issue's email once. When the HTML would exceed `config.email.maxHtmlBytes` (Gmail clips at
 * ~102 KB and hides the footer with the unsubscribe link), the lowest-scoring quotes are left out and the
 * email says how many, linking to the web version. The number kept is found by binary search (≈log2 n MJML
 * renders, not n).
 */
export async function renderEmail(digest: Digest, config: Config, opts: { webUrl: string; archiveUrl: string }): Promise<RenderedEmail> {
  const order = dropOrder(digest);
  const budget = config.email.maxHtmlBytes;
  const attempt = async (dropCount: number) => {
    const view = buildEmailView(digest, config, opts, new Set(order.slice(0, dropCount)));
    const html = await renderHtml(view);
    return { view, html, fits: budgetBytes(html) < budget };
  };
  let best = await attempt(0);
  if (!best.fits) {
    // Invariant: dropping `lo` does not fit, dropping `hi` fits (or hi = all, the floor we accept).
    let lo = 0;
    let hi = order.length;
    let atHi = await attempt(hi);
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const r = await attempt(mid);
      if (r.fits) {
        hi = mid;
        atHi = r;
      } else lo = mid;
    }
    best = atHi;
  }
  const text = renderText(best.view);
  return {
    subject: emailSubject(digest, config),
    html: best.html,
    text,
    htmlBytes: Buffer.byteLength(best.html, 'utf8'),
    trimmed: best.view.trimmed,
    placeholders: { unsubscribeUrl: UNSUBSCRIBE_PLACEHOLDER },
  };
}

/**
 * Fill the per-recipient parts by plain replacement: no re-render. The URL is HTML-escaped for the HTML part
 * (a `&` in a query string) and left as is in the text part.
 *
 * For a single copy (`digest preview`): deliver does not call this. It fills the same values (safeUrl, the
 * same escapeHtml) into the issue's MIME message, quoted-printable encoded, cut once per issue at the
 * placeholders (src/deliver/headers.ts), because encoding the 100 KB per recipient was its cost; this works on
 * the decoded HTML and text, which is what a preview shows. So nothing here is cached: it runs once.
 */
export function personalize(rendered: RenderedEmail, values: { unsubscribeUrl: string }): { html: string; text: string } {
  const token = rendered.placeholders.unsubscribeUrl;
  // Only schemes we would link anyway; an unsafe value leaves no live link rather than a javascript: one.
  const url = safeUrl(values.unsubscribeUrl);
  return { html: rendered.html.split(token).join(escapeHtml(url)), text: rendered.text.split(token).join(url) };
}
