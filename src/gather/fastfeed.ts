/**
 * The fields gather reads from a feed, found in one linear scan of the XML instead of through rss-parser,
 * which has xml2js build an object tree of the whole document first (most of gather's time on a large
 * run). It is a fast path, not a second feed parser: it accepts only the common, plainly written shapes of
 * RSS 2.0 and Atom 1.0 and answers null for anything else (RSS 0.9x and 1.0/RDF, a DOCTYPE, an attribute
 * without quotes, an entity XML does not define, a tag name outside ASCII, an Atom xhtml body, …). On null
 * the caller asks rss-parser, which also words the error for a feed that is not well-formed.
 *
 * What it accepts it must answer exactly as rss-parser (xml2js on sax, strict) would, field for field, so
 * it mirrors their rules where they are surprising: the first of repeated elements wins; an element's text
 * is the text directly inside it (its children's text is not part of it); whitespace-only text of an element
 * that has attributes or children counts as no text; CDATA counts as text even when blank; nothing is
 * trimmed; the element-name keys are the prefixed names as written (`dc:creator`, not its namespace).
 * test/gather/fastfeed.test.ts runs both over every real feed in the corpus and over generated ones.
 */

/** One item's fields, as feeds.ts reads them from rss-parser's output (null where it finds none). */
export interface ItemFields {
  /** guid, else Atom id, else rdf:about. */
  guid: string | null;
  link: string | null;
  /** content:encoded, else description / Atom content, else summary, else itunes:summary; '' if none. */
  content: string;
  title: string | null;
  /** The creator, else author, else dc:creator (untrimmed). */
  author: string | null;
  /** pubDate else dc:date (RSS), published else updated (Atom): the raw text. */
  date: string | null;
  /** The item's own xml:base. */
  base: string | null;
}

export interface FeedFields {
  title: string | null;
  link: string | null;
  /** xml:base of the channel (RSS) or feed (Atom) element. */
  base: string | null;
  items: ItemFields[];
}

// ───────────────────────────── text and entities ─────────────────────────────

/** xml2js drops an element's text when it matches this (JavaScript's \s, wider than XML's whitespace). */
const BLANK = /^\s*$/;
/** Outside the root element sax (strict) allows only XML whitespace. */
const XML_BLANK = /^[ \t\r\n]*$/;
const ANY_REF = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));|&/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** sax's test for a character reference it accepts (the XML Char production). */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * Character data with its references replaced, as sax does; null when a reference is one sax rejects (an
 * unknown name, a bare `&`, a code point outside XML's characters), so the feed goes to rss-parser.
 */
function decodeRefs(s: string): string | null {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  // Escaped HTML in a description is hundreds of &lt; and &gt;: a walk from '&' to '&' with native
  // searches, pieces joined once (about twice as fast as a replace per reference kind).
  const out: string[] = [];
  let start = 0;
  while (amp !== -1) {
    out.push(s.slice(start, amp));
    const ref = namedRefAt(s, amp);
    if (ref === null) return s.charCodeAt(amp + 1) === 0x23 /* # */ ? decodeAllRefs(s) : null;
    out.push(NAMED[ref]!);
    start = amp + ref.length + 2;
    amp = s.indexOf('&', start);
  }
  out.push(s.slice(start));
  return out.join('');
}

/** The name of the XML named reference (&lt; …) at `amp`, or null. */
function namedRefAt(s: string, amp: number): string | null {
  switch (s.charCodeAt(amp + 1)) {
    case 0x6c: return s.startsWith('lt;', amp + 1) ? 'lt' : null;
    case 0x67: return s.startsWith('gt;', amp + 1) ? 'gt' : null;
    case 0x61: return s.startsWith('amp;', amp + 1) ? 'amp' : s.startsWith('apos;', amp + 1) ? 'apos' : null;
    case 0x71: return s.startsWith('quot;', amp + 1) ? 'quot' : null;
    default: return null;
  }
}

/** decodeRefs for text with character references (&#…;): every reference checked as sax checks it. */
function decodeAllRefs(s: string): string | null {
  let bad = false;
  const out = s.replace(ANY_REF, (m, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (named !== undefined) return NAMED[named]!;
    if (dec === undefined && hex === undefined) {
      bad = true;
      return m;
    }
    const cp = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
    if (!isXmlChar(cp)) {
      bad = true;
      return m;
    }
    return String.fromCodePoint(cp);
  });
  return bad ? null : out;
}

// ───────────────────────────── the scan ─────────────────────────────

/** ASCII names only: sax allows more, and those go to rss-parser. */
const NAME = /[A-Za-z_][A-Za-z0-9_.:-]*/y;
/** One attribute: quoted, no `<` in the value (sax's own rules are looser; the rest goes to rss-parser). */
const ATTR = /[ \t\r\n]+([A-Za-z_][A-Za-z0-9_.:-]*)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /[ \t\r\n]*(\/?)>/y;
const CLOSE_END = /[ \t\r\n]*>/y;
const PI_NAME = /[A-Za-z_][A-Za-z0-9_.:-]*(?=[ \t\r\n?])/y;
/** sax refuses a comment, attribute value or PI longer than its 64 KiB buffer; stay well clear of it. */
const MAX_BUFFERED = 32_768;
/** Attributes on one tag the fast path reads; more goes to rss-parser. */
const MAX_ATTRIBUTES = 64;

const enum Kind { Skip, Rss, Channel, Item, Feed, Entry, Field, Author }

/** Element names that would collide with xml2js's own keys in the object it builds. */
const RESERVED = new Set(['_', '$']);

type Attrs = string[] | null;

interface Frame {
  kind: Kind;
  attrs: Attrs;
  /** Field frames: the text directly inside, decoded; whether any CDATA section was not empty. */
  text: string;
  cdata: boolean;
  children: boolean;
  /** Channel, Item, Feed, Entry, Author: the first child of each name, as its xml2js text value. */
  first: Map<string, Value> | null;
  /** Feed and Entry: the rel and href of each link child, in order. */
  links: { rel: string | undefined; href: string | undefined }[] | null;
  /** Entry: its first <author> element (whose <name> rss-parser reads). */
  author: Frame | null;
  name: string;
}

/**
 * A child element's value as feeds.ts reads it (its `text()`): the text, or null where xml2js made an
 * object without text (blank, with attributes or children).
 */
type Value = string | null;

/** Children of an item/entry whose values are read (others are scanned but not kept). */
const RSS_ITEM_FIELDS = new Set(['guid', 'title', 'dc:title', 'link', 'pubDate', 'dc:date', 'content:encoded', 'description', 'summary', 'itunes:summary', 'author', 'dc:creator']);
const ATOM_ENTRY_FIELDS = new Set(['id', 'title', 'published', 'updated', 'content', 'summary']);
const CHANNEL_FIELDS = new Set(['title', 'dc:title', 'link']);
const FEED_FIELDS = new Set(['title']);
/** Read through rss-parser's getContent (an object becomes XML), not as plain text. */
const RSS_CONTENT = new Set(['description']);
const ATOM_CONTENT = new Set(['content', 'summary']);

function attrOf(attrs: Attrs, name: string): string | undefined {
  if (attrs === null) return undefined;
  for (let i = 0; i < attrs.length; i += 2) if (attrs[i] === name) return attrs[i + 1];
  return undefined;
}

/**
 * xml2js's value for a finished element, read as text. A content body (`content`) goes through
 * rss-parser's getContent, which serializes an object without text back to XML (an Atom xhtml body):
 * the fast path does not do that.
 */
function valueOf(f: Frame, content: boolean): Value {
  if (f.cdata || !BLANK.test(f.text)) return f.text;
  if (f.attrs !== null || f.children) {
    if (content) throw FALLBACK;
    return null;
  }
  return f.text;
}

/** rss-parser's getLink(links, 'alternate', 0): the first rel="alternate", else the first link's href. */
function alternateLink(links: { rel: string | undefined; href: string | undefined }[]): string | null {
  for (const l of links) if (l.rel === 'alternate') return l.href ?? null;
  return links[0]?.href ?? null;
}

/** `later` when present (even without text), else `earlier`: rss-parser copies both, the later overwriting. */
function firstPresent(first: Map<string, Value>, later: string, earlier: string): string | null {
  if (first.has(later)) return first.get(later) ?? null;
  return first.get(earlier) ?? null;
}

const FALLBACK = new Error('not on the fast path');

function itemOf(f: Frame, itunes: boolean): ItemFields {
  const first = f.first!;
  const t = (name: string) => first.get(name) ?? null;
  if (f.kind === Kind.Item) {
    const creator = firstPresent(first, 'dc:creator', 'author');
    const about = attrOf(f.attrs, 'rdf:about');
    return {
      guid: t('guid') ?? (about ? about : null),
      link: t('link'),
      content: t('content:encoded') ?? t('description') ?? t('summary') ?? (itunes ? t('itunes:summary') : null) ?? '',
      title: firstPresent(first, 'title', 'dc:title'),
      author: creator ?? t('author') ?? t('dc:creator'),
      date: t('pubDate') ?? t('dc:date'),
      base: attrOf(f.attrs, 'xml:base') ?? null,
    };
  }
  // rss-parser reads an Atom entry by hand, not through its field list: no dc:* or content:encoded, a
  // title only when not empty, the author only as the first <author>'s first <name>.
  const author = f.author;
  return {
    guid: t('id'),
    link: f.links!.length ? alternateLink(f.links!) : null,
    content: t('content') ?? t('summary') ?? '',
    title: t('title') || null,
    author: author?.first!.get('name') ?? null,
    date: t('published') ?? t('updated'),
    base: attrOf(f.attrs, 'xml:base') ?? null,
  };
}

const SKIP: Frame = { kind: Kind.Skip, attrs: null, text: '', cdata: false, children: false, first: null, links: null, author: null, name: '' };

function frame(kind: Kind, name: string, attrs: Attrs): Frame {
  return {
    kind, attrs, text: '', cdata: false, children: false, name, author: null,
    first: kind === Kind.Field ? null : new Map(),
    links: kind === Kind.Feed || kind === Kind.Entry ? [] : null,
  };
}

/** An Atom link: only its attributes are read. rss-parser fails on a link without any (it reads `$.rel`). */
function linkFrame(parent: Frame, attrs: Attrs): Frame {
  if (attrs === null) throw FALLBACK;
  parent.links!.push({ rel: attrOf(attrs, 'rel'), href: attrOf(attrs, 'href') });
  return SKIP;
}

/** The frame for a start tag `name` inside `parent` (SKIP for elements nothing reads). */
function childFrame(parent: Frame, name: string, attrs: Attrs): Frame {
  switch (parent.kind) {
    case Kind.Channel:
      if (name === 'item') return frame(Kind.Item, name, attrs);
      return CHANNEL_FIELDS.has(name) ? frame(Kind.Field, name, attrs) : SKIP;
    case Kind.Feed:
      if (name === 'entry') return frame(Kind.Entry, name, attrs);
      if (name === 'link') return linkFrame(parent, attrs);
      return FEED_FIELDS.has(name) ? frame(Kind.Field, name, attrs) : SKIP;
    case Kind.Item:
      return RSS_ITEM_FIELDS.has(name) ? frame(Kind.Field, name, attrs) : SKIP;
    case Kind.Entry:
      if (name === 'link') return linkFrame(parent, attrs);
      if (name === 'author') {
        const f = frame(Kind.Author, name, attrs);
        parent.author ??= f;
        return f;
      }
      return ATOM_ENTRY_FIELDS.has(name) ? frame(Kind.Field, name, attrs) : SKIP;
    case Kind.Author:
      return name === 'name' ? frame(Kind.Field, name, attrs) : SKIP;
    default:
      return SKIP;
  }
}

/** What the end of element `f` (inside `parent`) contributes: a field value or an item. */
function finish(f: Frame, parent: Frame | undefined, items: ItemFields[], itunes: boolean): void {
  if (f.kind === Kind.Field) {
    // Only the first child of a name is read; content bodies go through getContent.
    const first = parent!.first!;
    if (!first.has(f.name)) {
      const content = parent!.kind === Kind.Entry ? ATOM_CONTENT.has(f.name) : parent!.kind === Kind.Item && RSS_CONTENT.has(f.name);
      first.set(f.name, valueOf(f, content));
    }
  } else if (f.kind === Kind.Item || f.kind === Kind.Entry) {
    // An item with neither attributes nor children is a string to xml2js: rare, left to rss-parser.
    if (f.attrs === null && !f.children) throw FALLBACK;
    items.push(itemOf(f, itunes));
  }
}

/**
 * The fields of a common RSS 2.0 or Atom 1.0 document (HTML entities already replaced, as parseFeed does),
 * or null when the document is anything else or anything unusual: then rss-parser decides.
 */
export function fastFeedFields(xml: string): FeedFields | null {
  try {
    return scan(xml);
  } catch (err) {
    if (err === FALLBACK) return null;
    throw err;
  }
}

function scan(xml: string): FeedFields | null {
  const n = xml.length;
  // xml2js strips a second byte-order mark; parseFeed strips the first. Rare: left to rss-parser.
  if (xml.charCodeAt(0) === 0xfeff) return null;
  const names: string[] = [];
  const frames: Frame[] = [];
  let root: Frame | null = null;
  let rootClosed = false;
  let channel: Frame | null = null;
  let itunes = false;
  const items: ItemFields[] = [];
  let pos = 0;
  // The next '&' at or after pos (n: none), so that checking text between tags stays linear.
  let nextAmp = -1;

  while (pos < n) {
    const lt = xml.indexOf('<', pos);
    const end = lt === -1 ? n : lt;
    if (end > pos) {
      const top = frames[frames.length - 1];
      if (top === undefined) {
        if (!XML_BLANK.test(xml.slice(pos, end))) return null;
      } else if (top.kind === Kind.Field) {
        const text = decodeRefs(xml.slice(pos, end));
        if (text === null) return null;
        top.text += text;
      } else {
        if (nextAmp < pos) {
          nextAmp = xml.indexOf('&', pos);
          if (nextAmp === -1) nextAmp = n;
        }
        // Text nothing reads must still be text sax accepts.
        if (nextAmp < end && decodeRefs(xml.slice(pos, end)) === null) return null;
      }
    }
    if (lt === -1) break;
    const c = xml.charCodeAt(lt + 1);
    if (c === 0x2f /* / */) {
      NAME.lastIndex = lt + 2;
      const m = NAME.exec(xml);
      if (m === null || names.length === 0 || names[names.length - 1] !== m[0]) return null;
      CLOSE_END.lastIndex = NAME.lastIndex;
      if (CLOSE_END.exec(xml) === null) return null;
      pos = CLOSE_END.lastIndex;
      names.pop();
      const f = frames.pop()!;
      if (f === root) rootClosed = true;
      else finish(f, frames[frames.length - 1], items, itunes);
      continue;
    }
    if (c === 0x21 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const close = xml.indexOf('-->', lt + 4);
        if (close === -1 || close - lt > MAX_BUFFERED) return null;
        const body = xml.slice(lt + 4, close);
        // sax (strict) refuses "--" inside a comment, and a comment ending "--->".
        if (body.includes('--') || body.endsWith('-')) return null;
        pos = close + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        const close = xml.indexOf(']]>', lt + 9);
        const top = frames[frames.length - 1];
        if (close === -1 || top === undefined) return null;
        // sax reports no CDATA at all for an empty section: it does not make blank text count.
        if (top.kind === Kind.Field && close > lt + 9) {
          top.text += xml.slice(lt + 9, close);
          top.cdata = true;
        }
        pos = close + 3;
        continue;
      }
      // A DOCTYPE or other declaration: rss-parser's business.
      return null;
    }
    if (c === 0x3f /* ? */) {
      // Processing instructions (the XML declaration, a stylesheet) before the root only.
      if (root !== null) return null;
      PI_NAME.lastIndex = lt + 2;
      if (PI_NAME.exec(xml) === null) return null;
      const close = xml.indexOf('?>', PI_NAME.lastIndex);
      if (close === -1 || close - lt > MAX_BUFFERED) return null;
      pos = close + 2;
      continue;
    }
    // A start tag.
    NAME.lastIndex = lt + 1;
    const m = NAME.exec(xml);
    if (m === null) return null;
    const name = m[0];
    if (RESERVED.has(name) || name.length > MAX_BUFFERED) return null;
    let p = NAME.lastIndex;
    let attrs: Attrs = null;
    for (let count = 0; ; count++) {
      ATTR.lastIndex = p;
      const a = ATTR.exec(xml);
      if (a === null) break;
      p = ATTR.lastIndex;
      // A tag with this many attributes is hostile or strange: rss-parser reads it (the duplicate check below
      // is a scan, so its cost must stay bounded per tag). Over-long names are refused by sax: so here.
      if (count >= MAX_ATTRIBUTES || a[1]!.length > MAX_BUFFERED) return null;
      const raw = a[2] ?? a[3]!;
      if (raw.length > MAX_BUFFERED) return null;
      const value = decodeRefs(raw);
      if (value === null) return null;
      attrs ??= [];
      // sax keeps the first of a repeated attribute; rare enough to leave to rss-parser.
      if (attrOf(attrs, a[1]!) !== undefined) return null;
      attrs.push(a[1]!, value);
    }
    TAG_END.lastIndex = p;
    const e = TAG_END.exec(xml);
    if (e === null) return null;
    pos = TAG_END.lastIndex;

    const parent = frames[frames.length - 1];
    let f: Frame;
    if (parent === undefined) {
      if (root !== null || e[1] === '/') return null;
      if (name === 'rss') {
        // rss-parser reads version 0.9x without the iTunes fields, and anything else as RSS 2.
        const version = attrOf(attrs, 'version');
        if (version && !/^2/.test(version) && /0\.9/.test(version)) return null;
        itunes = Boolean(attrOf(attrs, 'xmlns:itunes'));
        f = frame(Kind.Rss, name, attrs);
      } else if (name === 'feed') {
        f = frame(Kind.Feed, name, attrs);
      } else return null;
      root = f;
    } else {
      if (parent !== SKIP) parent.children = true;
      if (parent.kind === Kind.Rss) {
        // rss-parser reads the first channel; two are rare enough to leave to it.
        if (name === 'channel' && channel !== null) return null;
        f = name === 'channel' ? (channel = frame(Kind.Channel, name, attrs)) : SKIP;
      } else f = childFrame(parent, name, attrs);
    }
    // A self-closing tag is a start tag and its end tag.
    if (e[1] === '/') finish(f, parent, items, itunes);
    else {
      names.push(name);
      frames.push(f);
    }
  }
  if (root === null || !rootClosed || frames.length > 0) return null;
  if (root.kind === Kind.Rss) {
    // rss-parser needs a channel that is an object (it throws on a feed without one).
    if (channel === null || (channel.attrs === null && !channel.children)) return null;
    const first = channel.first!;
    return { title: firstPresent(first, 'title', 'dc:title'), link: first.get('link') ?? null, base: attrOf(channel.attrs, 'xml:base') ?? null, items };
  }
  // `<feed/>` with nothing in it is '' to xml2js, which rss-parser does not recognize as a feed.
  if (root.attrs === null && !root.children) return null;
  const first = root.first!;
  return {
    title: first.get('title') || null,
    link: root.links!.length ? alternateLink(root.links!) : null,
    base: attrOf(root.attrs, 'xml:base') ?? null,
    items,
  };
}
