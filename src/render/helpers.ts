/**
 * Handlebars helpers shared by the email and the web archive. Pure: no clock, no I/O. Dates are read in the
 * configured time zone (luxon), because an issue dated "Monday" must not become "Sunday" for a reader's
 * server in another zone.
 */
import Handlebars from 'handlebars';
import { DateTime } from 'luxon';
import type { VerbatimStatus, Stance } from '../model.js';
import { cleanLine } from '../compose/digest.js';

/**
 * The only URL schemes we ever put in an href. Handlebars escaping does not stop `javascript:` (field notes),
 * so every URL from a feed goes through here. Anything else becomes '' (callers hide the link), never '#',
 * which would leave a live link that goes nowhere.
 */
export function safeUrl(u: unknown): string {
  if (typeof u !== 'string') return '';
  // Browsers ignore leading/trailing controls and spaces and drop tabs/newlines inside ("java\nscript:" runs);
  // WHATWG URL parsing does the same, and we refuse any control character left inside outright.
  const cleaned = u.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
  if (/[\u0000-\u001f\u007f]/.test(cleaned)) return '';
  let url: URL;
  try {
    url = new URL(cleaned);
  } catch {
    return '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'mailto:') return '';
  if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.hostname) return '';
  return url.href;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Characters XML 1.0 forbids (a hostile record could carry them); removed so feeds stay well-formed. */
// eslint-disable-next-line no-control-regex
export const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text made safe in HTML and XML, in element content or a quoted attribute (an href's `&` in a query string):
 * the archive's pages and feeds, the subscription service's pages, and the unsubscribe link spliced into each
 * email. Characters XML forbids are removed.
 */
export function escapeHtml(text: string): string {
  return text.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * An issue date ("2026-11-30" or a full ISO timestamp) in the short form older records' subjects carry
 * ("30 Nov 2026"), in `zone`: emailSubject looks for it so such a subject does not get the date twice. The form
 * people read everywhere is compose's formatIssueDate. '' when unparseable.
 */
export function shortIssueDate(iso: string, zone: string): string {
  // A bare yyyy-mm-dd is a calendar date already in the configured zone; do not shift it.
  const dt = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? DateTime.fromISO(iso, { zone }) : DateTime.fromISO(iso, { setZone: true }).setZone(zone);
  return dt.isValid ? dt.setLocale('en').toFormat('d LLL yyyy') : '';
}

const STATUS_LABELS: Record<VerbatimStatus, string> = {
  verified: 'Verbatim · checked against the transcript',
  corroborated: 'Verbatim · same words in several sources',
  'single-source': 'Single source · not yet checked against a transcript',
  paraphrase: 'Paraphrase · not the speaker\u2019s exact words',
};

const STATUS_SHORT: Record<VerbatimStatus, string> = {
  verified: 'Verified',
  corroborated: 'Corroborated',
  'single-source': 'Single source',
  paraphrase: 'Paraphrase',
};

/** What a reader needs to know about how far to trust the words: shown as a badge next to every quote. */
export function statusLabel(status: unknown): string {
  return typeof status === 'string' && status in STATUS_LABELS ? STATUS_LABELS[status as VerbatimStatus] : 'Unchecked';
}

export function statusShort(status: unknown): string {
  return typeof status === 'string' && status in STATUS_SHORT ? STATUS_SHORT[status as VerbatimStatus] : 'Unchecked';
}

const STANCE_LABELS: Record<Stance, string> = {
  research: 'Age of research',
  scaling: 'Scaling still works',
  paradigm: 'New paradigm needed',
  neutral: 'Reporting',
};

export function stanceLabel(stance: unknown): string {
  return typeof stance === 'string' && stance in STANCE_LABELS ? STANCE_LABELS[stance as Stance] : '';
}

/** Remove CR, LF and other control characters (header-safe, one line), collapse runs of space. */
export function oneLine(s: unknown): string {
  return typeof s === 'string' ? cleanLine(s) : '';
}

/** Register the shared helpers on a Handlebars environment (an isolated one from Handlebars.create()). */
export function registerHelpers(hb: typeof Handlebars): void {
  hb.registerHelper('safeUrl', (u: unknown) => safeUrl(u));
  hb.registerHelper('statusLabel', (s: unknown) => statusLabel(s));
  hb.registerHelper('statusShort', (s: unknown) => statusShort(s));
  hb.registerHelper('stanceLabel', (s: unknown) => stanceLabel(s));
  hb.registerHelper('oneLine', (s: unknown) => oneLine(s));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('plural', (n: unknown, one: unknown, many: unknown) => (n === 1 ? one : many));
}
