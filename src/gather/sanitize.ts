import sanitize from 'sanitize-html';
import { Parser } from 'htmlparser2';

/**
 * Feed and dropped-file HTML is hostile input: it ends up in email (via MJML) and in the web archive.
 * sanitize-html's defaults are not enough (they keep target=_blank without rel and drop <img> entirely;
 * see field notes), so everything here is an explicit allowlist. Anything not named is dropped.
 */

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'div', 'span', 'a', 'img', 'figure', 'figcaption',
  'strong', 'b', 'em', 'i', 'u', 's', 'del', 'ins', 'small', 'sub', 'sup', 'mark', 'abbr', 'time', 'cite', 'q',
  'blockquote', 'code', 'pre', 'kbd', 'samp',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td',
];

const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  a: ['href', 'title', 'target', 'rel'],
  img: ['src', 'alt', 'title', 'width', 'height'],
  abbr: ['title'],
  time: ['datetime'],
  blockquote: ['cite'],
  q: ['cite'],
  td: ['colspan', 'rowspan'],
  th: ['colspan', 'rowspan', 'scope'],
  ol: ['start'],
};

/** Elements whose content is dropped along with the tag (not just unwrapped to text). */
const DROP_WITH_CONTENT = [
  'script', 'style', 'textarea', 'option', 'noscript', 'template', 'title', 'head',
  'svg', 'math', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'select', 'button',
  'xmp', 'noembed', 'noframes', 'plaintext', 'meta', 'base', 'link',
];

const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
const IMAGE_SCHEMES = new Set(['http:', 'https:']);

/**
 * Resolve `raw` against `base` and return it only when its scheme is allowed. The WHATWG URL parser strips
 * tabs/newlines and leading control characters the way browsers do, so `jav&#x09;ascript:` (already
 * entity-decoded by the HTML parser) is seen as `javascript:` and refused.
 */
export function safeUrl(raw: string | undefined, base: string | undefined, schemes: ReadonlySet<string> = LINK_SCHEMES): string | null {
  if (raw === undefined) return null;
  const trimmed = raw.trim();
  if (trimmed === '') return null;
  let url: URL;
  try {
    url = base ? new URL(trimmed, base) : new URL(trimmed);
  } catch {
    // A relative URL with no base to resolve it against: keep it only if it clearly has no scheme.
    // eslint-disable-next-line no-control-regex
    const squashed = trimmed.replace(/[\u0000-\u0020]/g, '');
    if (/^[a-z][a-z0-9+.-]*:/i.test(squashed) || squashed.startsWith('//') || squashed.startsWith('\\')) return null;
    return /^[/?#.a-z0-9_~-]/i.test(squashed) ? squashed : null;
  }
  if (!schemes.has(url.protocol)) return null;
  return url.toString();
}

function isTrackingPixel(attribs: Record<string, string>): boolean {
  const w = Number.parseInt(attribs.width ?? '', 10);
  const h = Number.parseInt(attribs.height ?? '', 10);
  return (Number.isFinite(w) && w <= 1) || (Number.isFinite(h) && h <= 1);
}

/**
 * HTML parsers keep a stack of open elements and search it on every end tag, so markup nested thousands
 * deep costs time quadratic in its depth (100,000 nested <div> took 51 s). No real article nests past a
 * few dozen levels: deeper input is treated as text.
 */
export const MAX_HTML_DEPTH = 256;

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

/** The deepest nesting of start tags (linear scan; approximate, errs on the deep side). */
export function htmlDepth(html: string): number {
  let depth = 0;
  let max = 0;
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(\/?)>/g;
  for (let m = tag.exec(html); m !== null; m = tag.exec(html)) {
    if (m[1]) depth = Math.max(0, depth - 1);
    else if (!m[3] && !VOID.has(m[2]!.toLowerCase())) {
      depth++;
      if (depth > max) max = depth;
    }
  }
  return max;
}

/** Text of markup too deep to parse: drop skipped elements with their content, then every tag (linear). */
function flattenToText(html: string): string {
  const out: string[] = [];
  const open = new RegExp(`<(${[...SKIP].join('|')})\\b`, 'gi');
  let pos = 0;
  for (let m = open.exec(html); m !== null; m = open.exec(html)) {
    out.push(html.slice(pos, m.index));
    const close = html.toLowerCase().indexOf(`</${m[1]!.toLowerCase()}`, m.index);
    if (close === -1) {
      pos = html.length;
      break;
    }
    const end = html.indexOf('>', close);
    pos = end === -1 ? html.length : end + 1;
    open.lastIndex = pos;
  }
  out.push(html.slice(pos));
  const stripped = out.join('').replace(/<\/?[a-zA-Z!?][^>]*>?/g, ' ').replace(/</g, '&lt;');
  return htmlToText(stripped);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Plain text as safe HTML: escaped, blank lines as paragraphs, single newlines as <br />. */
export function textToHtml(text: string): string {
  return text === '' ? '' : text.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br />')}</p>`).join('');
}

/** Sanitize untrusted HTML for display. Relative links are made absolute against `baseUrl` when given. */
export function sanitizeHtml(html: string, baseUrl?: string): string {
  if (htmlDepth(html) > MAX_HTML_DEPTH) return textToHtml(flattenToText(html));
  return sanitize(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
    allowProtocolRelative: false,
    allowedStyles: {},
    allowVulnerableTags: false,
    disallowedTagsMode: 'discard',
    nonTextTags: DROP_WITH_CONTENT,
    parseStyleAttributes: false,
    transformTags: {
      a: (tagName, attribs) => {
        const out: Record<string, string> = {};
        const href = safeUrl(attribs.href, baseUrl);
        if (href !== null) out.href = href;
        if (attribs.title !== undefined) out.title = attribs.title;
        if (attribs.target !== undefined) {
          // Any target opens a new browsing context that could reach back through window.opener.
          out.target = '_blank';
          out.rel = 'noopener noreferrer';
        }
        return { tagName, attribs: out };
      },
      img: (tagName, attribs) => {
        const out: Record<string, string> = {};
        const src = safeUrl(attribs.src, baseUrl, IMAGE_SCHEMES);
        if (src !== null) out.src = src;
        for (const key of ['alt', 'title', 'width', 'height'] as const) {
          const v = attribs[key];
          if (v !== undefined) out[key] = v;
        }
        return { tagName, attribs: out };
      },
      blockquote: (tagName, attribs) => citeOnly(tagName, attribs, baseUrl),
      q: (tagName, attribs) => citeOnly(tagName, attribs, baseUrl),
    },
    exclusiveFilter: (frame) => frame.tag === 'img' && (frame.attribs.src === undefined || isTrackingPixel(frame.attribs)),
  });
}

function citeOnly(tagName: string, attribs: Record<string, string>, baseUrl: string | undefined) {
  const cite = safeUrl(attribs.cite, baseUrl);
  const out: Record<string, string> = {};
  if (cite !== null) out.cite = cite;
  return { tagName, attribs: out };
}

const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'aside', 'nav', 'main', 'blockquote', 'pre', 'figure',
  'figcaption', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'tr', 'hr',
  'caption', 'address',
]);
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'title', 'head', 'svg', 'math', 'iframe', 'object', 'textarea', 'select']);

/** The transform htmlToText applies to one text run between two tags (entities already decoded). */
function textRun(text: string, inPre: boolean): string {
  // Most runs have no newline or control character: nothing to do (each replace below is a full scan).
  // eslint-disable-next-line no-control-regex
  if (!inPre && !/[\u0000-\u0002\r\n]/.test(text)) return text;
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0002]/g, '').replace(/\r\n?/g, '\n');
  if (inPre) return clean.replace(/ /g, '\u0000').replace(/\n/g, '\u0001');
  // A newline in HTML is a space, but descriptions are often plain text with blank lines between
  // paragraphs: keep a blank line as a paragraph break.
  return clean.replace(/\n(?:[ \t]*\n)+/g, '\u0002').replace(/\n/g, ' ').replace(/\u0002/g, '\n\n');
}

/** Runs of spaces and tabs (not newlines) other than a lone space, which would be replaced by itself. */
const SPACE_RUN = / [ \t\f\v\r\u00a0]+|[\t\f\v\r\u00a0][ \t\f\v\r\u00a0]*/g;

/** A <q> reads as a quotation in the text, as browsers show it: the quote finder then sees its marks. */
const Q_OPEN = '“';
const Q_CLOSE = '”';

/**
 * The pieces htmlToText collected, as the final text: spaces collapsed, one blank line between blocks.
 * `pre`: whether a <pre> put its \u0000/\u0001 placeholders in the parts (only then are they looked for).
 */
function joinTextParts(parts: string[], pre: boolean): string {
  const joined = parts.join('').replace(SPACE_RUN, ' ');
  // Trim each line; collapse runs of blank lines to one blank line; none at the start or the end.
  const out: string[] = [];
  for (let start = 0; ; ) {
    const nl = joined.indexOf('\n', start);
    const line = (nl === -1 ? joined.slice(start) : joined.slice(start, nl)).trim();
    if (line !== '' || (out.length > 0 && out[out.length - 1] !== '')) out.push(line);
    if (nl === -1) break;
    start = nl + 1;
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  const text = out.join('\n');
  // eslint-disable-next-line no-control-regex
  return pre && /[\u0000\u0001]/.test(text) ? text.replace(/\u0000/g, ' ').replace(/\u0001/g, '\n') : text;
}

/**
 * Plain text of an HTML fragment: entities decoded, one blank line between blocks, a newline for <br>,
 * runs of spaces collapsed (except inside <pre>). This text is what quote offsets index, so it must be
 * deterministic for a given input.
 */
export function htmlToText(html: string): string {
  if (htmlDepth(html) > MAX_HTML_DEPTH) return flattenToText(html);
  const parts: string[] = [];
  let skipDepth = 0;
  let preDepth = 0;
  let sawPre = false;
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIP.has(name)) skipDepth++;
        if (name === 'pre') {
          preDepth++;
          sawPre = true;
        }
        if (name === 'br') parts.push('\n');
        else if (BLOCK.has(name)) parts.push('\n\n');
        else if (name === 'q' && skipDepth === 0) parts.push(Q_OPEN);
      },
      ontext(text) {
        if (skipDepth > 0) return;
        parts.push(textRun(text, preDepth > 0));
      },
      onclosetag(name) {
        if (SKIP.has(name)) skipDepth = Math.max(0, skipDepth - 1);
        if (name === 'pre') preDepth = Math.max(0, preDepth - 1);
        if (BLOCK.has(name)) parts.push('\n\n');
        else if (name === 'q' && skipDepth === 0) parts.push(Q_CLOSE);
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  return joinTextParts(parts, sawPre);
}

// ───────────────────────────── one pass for plain markup ─────────────────────────────

/**
 * Most feed HTML is a few paragraphs of text with attribute-less inline tags. For exactly that shape the
 * sanitizer's answer is known without running it: the same tags, the text re-escaped. `sanitizeAndText`
 * recognizes the shape in one linear scan and produces the sanitized HTML and its text together; anything
 * else (an attribute, a tag outside this small set, a nesting the HTML parser would repair, an unusual
 * entity or control character) goes through sanitize-html and htmlToText as before. Only tags on the
 * sanitizer's allowlist that carry no attributes are ever emitted here, so this path cannot let more
 * through than the allowlist; test/gather/sanitize.test.ts checks that both paths agree byte for byte.
 */
const FAST_VOID = new Set(['br', 'hr']);
const P_ONLY = new Set(['p']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p']);
/** Fast-path tags, each with the open elements that opening it would implicitly close (htmlparser2's rules). */
const FAST_TAGS = new Map<string, ReadonlySet<string> | null>([
  ['p', P_ONLY], ['div', P_ONLY], ['blockquote', P_ONLY], ['ul', P_ONLY], ['ol', P_ONLY], ['hr', P_ONLY],
  ['h1', HEADINGS], ['h2', HEADINGS], ['h3', HEADINGS], ['h4', HEADINGS], ['h5', HEADINGS], ['h6', HEADINGS],
  ['li', new Set(['li'])], ['br', null],
  ['b', null], ['i', null], ['em', null], ['strong', null], ['u', null], ['s', null], ['small', null], ['sub', null],
  ['sup', null], ['mark', null], ['cite', null], ['q', null], ['code', null], ['span', null], ['del', null], ['ins', null],
  ['kbd', null], ['samp', null], ['abbr', null],
]);
const NAMED_FAST: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
// A tag with no attributes; an entity with its semicolon; a run of plain text. Anything else stops the scan.
// eslint-disable-next-line no-control-regex
const FAST_TOKEN = /<(\/?)([a-z][a-z0-9]{0,9})[ \t\n\f]*(\/?)>|&(?:([a-z]{2,4})|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));|([^<&\u0000-\u0008\u000b-\u001f\u007f-\u009f]+)/y;

/** A numeric character reference that every HTML parser decodes to itself (no replacement rules apply). */
function plainCodePoint(cp: number): boolean {
  return cp === 9 || cp === 10 || (cp >= 0x20 && cp < 0x7f) || (cp >= 0xa0 && cp < 0xd800) || (cp >= 0xe000 && cp <= 0xfdcf) ||
    (cp >= 0xfdf0 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff && (cp & 0xfffe) !== 0xfffe);
}

/** What escapeText or textRun (outside <pre>) would change in a fast-path text run. */
const RUN_NEEDS_WORK = /[&<>\r\n]/;

function escapeText(text: string): string {
  // Most runs have nothing to escape: one scan instead of three.
  if (!/[&<>]/.test(text)) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The one-pass answer for plain markup, or null when the markup needs the full sanitizer (exported for tests). */
export function fastSanitizeAndText(input: string): { html: string; text: string } | null {
  const stack: string[] = [];
  const html: string[] = [];
  const parts: string[] = [];
  let run = '';
  const flush = () => {
    if (run === '') return;
    // Most runs need neither escaping nor newline handling: one scan to tell (no \u0000-\u0002 gets here).
    if (RUN_NEEDS_WORK.test(run)) {
      html.push(escapeText(run));
      parts.push(textRun(run, false));
    } else {
      html.push(run);
      parts.push(run);
    }
    run = '';
  };
  FAST_TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < input.length) {
    FAST_TOKEN.lastIndex = pos;
    const m = FAST_TOKEN.exec(input);
    if (m === null) return null;
    pos = FAST_TOKEN.lastIndex;
    if (m[7] !== undefined) {
      run += m[7];
      continue;
    }
    if (m[4] !== undefined) {
      const ch = NAMED_FAST[m[4]];
      if (ch === undefined) return null;
      run += ch;
      continue;
    }
    if (m[5] !== undefined || m[6] !== undefined) {
      const cp = m[5] !== undefined ? Number.parseInt(m[5], 10) : Number.parseInt(m[6]!, 16);
      if (!plainCodePoint(cp)) return null;
      run += String.fromCodePoint(cp);
      continue;
    }
    // A tag.
    const name = m[2]!;
    const implied = FAST_TAGS.get(name);
    if (implied === undefined) return null;
    const top = stack[stack.length - 1];
    flush();
    if (m[1]) {
      // A close tag must close the innermost open element; anything else is repaired by the parser.
      if (m[3] || top !== name) return null;
      stack.pop();
      html.push(`</${name}>`);
      if (BLOCK.has(name)) parts.push('\n\n');
      else if (name === 'q') parts.push(Q_CLOSE);
      continue;
    }
    if (m[3] && !FAST_VOID.has(name)) return null;
    if (implied !== null && top !== undefined && implied.has(top)) return null;
    if (FAST_VOID.has(name)) {
      html.push(`<${name} />`);
      if (name === 'br') parts.push('\n');
      else parts.push('\n\n', '\n\n');
      continue;
    }
    if (stack.length >= MAX_HTML_DEPTH) return null;
    stack.push(name);
    html.push(`<${name}>`);
    if (BLOCK.has(name)) parts.push('\n\n');
    else if (name === 'q') parts.push(Q_OPEN);
  }
  if (stack.length > 0) return null;
  flush();
  return { html: html.join(''), text: joinTextParts(parts, false) };
}

/**
 * Sanitized HTML and its plain text, as `sanitizeHtml` then `htmlToText` would give them; in one pass when
 * the markup is plain (see above).
 */
export function sanitizeAndText(html: string, baseUrl?: string): { html: string; text: string } {
  const fast = fastSanitizeAndText(html);
  if (fast !== null) return fast;
  const safe = sanitizeHtml(html, baseUrl);
  return { html: safe, text: htmlToText(safe) };
}
