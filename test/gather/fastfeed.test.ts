import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBytes } from '../../src/gather/encoding.js';
import { fastFeedFields } from '../../src/gather/fastfeed.js';
import { feedFieldsOf, feedPathStats, parseFeed } from '../../src/gather/feeds.js';
import { rng } from '../../scripts/bench/workload.js';

/**
 * Feeds of the common RSS 2.0 / Atom shapes are read by a one-scan fast path (src/gather/fastfeed.ts)
 * instead of rss-parser. Both must give the same fields, item for item, so every feed here goes through
 * both and the answers are compared; a feed the fast path declines must be one rss-parser reads (or
 * rejects) the same way as before, which holds by construction. The counts show how many took the fast
 * path, so a fast path that silently declined everything would fail.
 */

type Outcome = { fields: unknown; fast: boolean } | { error: string; fast: false };

async function outcome(xml: string, reference: boolean): Promise<Outcome> {
  try {
    return await feedFieldsOf(xml, reference);
  } catch (err) {
    return { error: (err as Error).message, fast: false };
  }
}

/** Both paths over one document: equal fields (or the same error); returns whether the fast path took it. */
async function agree(xml: string, label: string): Promise<boolean> {
  const ref = await outcome(xml, true);
  const got = await outcome(xml, false);
  if (!got.fast) return false;
  expect('fields' in ref ? ref.fields : ref, label).toStrictEqual((got as { fields: unknown }).fields);
  return true;
}

const CORPUS = ['/work/shared/feeds/rss-parser', path.resolve(import.meta.dirname, '../../../shared/feeds/rss-parser')].find((d) => existsSync(d));

describe('the feed fast path agrees with rss-parser', () => {
  it.skipIf(!CORPUS)('on every real feed of the corpus (and the same SourceItems)', async () => {
    const files = readdirSync(CORPUS!).filter((f) => f !== 'LICENSE').sort();
    expect(files.length).toBeGreaterThanOrEqual(30);
    const fast: string[] = [];
    for (const f of files) {
      const xml = decodeBytes(readFileSync(path.join(CORPUS!, f)), null, 'xml').text.replace(/^\uFEFF/, '');
      if (await agree(xml, f)) fast.push(f);
      const origin = `https://feeds.example/${f}`;
      const ref = await parseFeed(xml, origin, { reference: true });
      const got = await parseFeed(xml, origin);
      expect(got, f).toStrictEqual(ref);
    }
    // The corpus's RDF, RSS 0.92, unrecognized and markup-as-XML feeds go to rss-parser; the rest do not.
    console.log(`fast path: ${fast.length} of ${files.length} real feeds; rss-parser: ${files.filter((f) => !fast.includes(f)).join(', ')}`);
    expect(fast.length).toBeGreaterThanOrEqual(24);
    expect(fast).toContain('guardian.rss');
    expect(fast).toContain('heise.atom');
  });

  it('on generated feeds: entities, CDATA, HTML bodies, missing and repeated fields, odd dates, links, xml:base', async () => {
    const r = rng(8080);
    const N = 1500;
    let fast = 0;
    const before = { ...feedPathStats };
    for (let i = 0; i < N; i++) {
      const { xml, kind } = generatedFeed(r);
      if (await agree(xml, `#${i} (${kind}):\n${xml}`)) fast++;
    }
    console.log(`fast path: ${fast} of ${N} generated feeds`);
    // The counter gather's callers see moved with the feeds the fast path took.
    expect(feedPathStats.fast - before.fast).toBe(fast);
    expect(fast).toBeGreaterThan(N * 0.3);
    expect(fast).toBeLessThan(N);
  });

  it('declines what it does not handle rather than guessing', () => {
    const rss = (body: string, attrs = ' version="2.0"') => `<rss${attrs}><channel><title>t</title>${body}</channel></rss>`;
    expect(fastFeedFields(rss('<item><title>a</title></item>'))).not.toBeNull();
    for (const xml of [
      rss('<item><title>a</title></item>', ' version="0.91"'),
      rss('<item><title>a &bogus; b</title></item>'),
      rss('<item><title>a & b</title></item>'),
      rss('<item><title a=b>x</title></item>'),
      rss('<item><title>a</titl></item>'),
      rss('<item><description><p>markup as XML</p></description></item>'),
      '<!DOCTYPE rss><rss version="2.0"><channel/></rss>',
      '<rdf:RDF><channel><title>t</title></channel></rdf:RDF>',
      `${rss('')}<extra/>`,
      '<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml"><div>x</div></content></entry></feed>',
      '<feed xmlns="http://www.w3.org/2005/Atom"><entry><link>https://no.attributes/</link></entry></feed>',
      // A hostile tag with thousands of attributes (the duplicate check would be quadratic): rss-parser's job.
      rss(`<item><title${Array.from({ length: 5000 }, (_, i) => ` a${i}=""`).join('')}>x</title></item>`),
      rss(`<item><${'t'.repeat(40_000)}>x</${'t'.repeat(40_000)}></item>`),
    ]) {
      expect(fastFeedFields(xml), xml).toBeNull();
    }
  });
});

// ───────────────────────────── the generator ─────────────────────────────

type R = () => number;
const pick = <T,>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: R, p: number) => r() < p;

const WORDS = ['scaling', 'research', 'Sutskever', 'naïve', 'café', '“quoted”', '—', 'emoji 😀', 'x', 'age', 'of', 'the'];
const REFS = ['&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#233;', '&#xE9;', '&#x1F600;', '&#0065;', '&#10;', '&#13;', '&#160;', '&nbsp;', '&mdash;', '&copy;', '&eacute;'];
const BAD_REFS = ['&bogus;', '&#0;', '&#xD800;', '& ', '&AMP;', '&#x110000;', '&a;'];
const SPACES = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003'];
const DATES = ['Mon, 24 Nov 2025 10:00:00 GMT', 'Tue, 25 Nov 2025 08:30:00 +0100', '2025-11-26T10:00:00Z', '2025-11-26', 'Seg, 24 Set 2018 19:42:40 -0300',
  '26/11/2025 lunchtime', '', '  Wed, 26 Nov 2025 09:00:00 EST  ', '1764151200', 'Thu, 27 Nov 25 12:00:00 PST'];
const HTML = ['<p>A paragraph with <b>bold</b> and <a href="/rel">a link</a>.</p>', '<p>Sutskever said “the age of scaling is over.”</p><p>Second</p>', 'plain text body\n\nwith a blank line',
  '<img src="x.png" width="1" height="1"><script>alert(1)</script><p onclick="x()">hi</p>', '<q>quoted</q> words', '<blockquote>Long quote here.</blockquote>', ''];

function text(r: R, refs = true): string {
  const n = 1 + Math.floor(r() * 5);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += pick(r, WORDS);
    if (refs && chance(r, 0.3)) out += pick(r, REFS);
    if (refs && chance(r, 0.005)) out += pick(r, BAD_REFS);
    out += chance(r, 0.8) ? ' ' : pick(r, SPACES);
  }
  return chance(r, 0.1) ? pick(r, SPACES) + out : out;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Character data in one of the ways feeds write it. */
function content(r: R, value: string): string {
  switch (Math.floor(r() * 9)) {
    case 0: return `<![CDATA[${value}]]>`;
    case 1: return `<![CDATA[]]>${escapeXml(value)}`;
    case 2: return `${escapeXml(value.slice(0, 5))}<![CDATA[${value.slice(5)}]]>`;
    case 3: return chance(r, 0.5) ? '<![CDATA[  ]]>' : pick(r, SPACES);
    case 4: return `${escapeXml(value)}${chance(r, 0.85) ? pick(r, ['<!-- a comment -->', '<!---->']) : pick(r, ['<!-- a -- b -->', '<!-- c --->'])}${chance(r, 0.5) ? ' tail' : ''}`;
    case 5: return `<b>child</b>${chance(r, 0.5) ? escapeXml(value) : ''}`;
    case 6: return text(r);
    default: return escapeXml(value);
  }
}

/** An element in one of its shapes: absent, empty, self-closed, with attributes, repeated. */
function element(r: R, name: string, value: () => string, attrs: readonly string[] = []): string {
  const roll = r();
  if (roll < 0.15) return '';
  const a = attrs.length && chance(r, 0.4) ? ` ${pick(r, attrs)}` : '';
  if (roll < 0.22) return `<${name}${a}/>`;
  if (roll < 0.28) return `<${name}${a} />`;
  if (roll < 0.34) return `<${name}${a}></${name}>`;
  const one = `<${name}${a}>${value()}</${name}${chance(r, 0.05) ? ' ' : ''}>`;
  if (roll < 0.42) return `${one}<${name}>${value()}</${name}>`;
  return one;
}

function rssItem(r: R): string {
  const parts = [
    element(r, 'title', () => content(r, text(r))),
    element(r, 'dc:title', () => content(r, text(r))),
    element(r, 'link', () => (chance(r, 0.8) ? pick(r, ['https://e.example/a?utm_source=x', '/relative/path', 'posts/2', ' https://e.example/b ', 'javascript:alert(1)']) : text(r))),
    element(r, 'guid', () => pick(r, ['https://e.example/g1', 'tag:e.example,2025:1', ' g2 ', '']), ['isPermaLink="false"', 'isPermaLink="true"']),
    element(r, 'pubDate', () => escapeXml(pick(r, DATES))),
    element(r, 'dc:date', () => escapeXml(pick(r, DATES))),
    element(r, 'description', () => content(r, pick(r, HTML) + text(r, false)), ['type="html"']),
    element(r, 'content:encoded', () => content(r, pick(r, HTML))),
    element(r, 'summary', () => content(r, text(r))),
    element(r, 'itunes:summary', () => content(r, text(r))),
    element(r, 'author', () => content(r, pick(r, ['jane@e.example (Jane Doe)', 'Ilya Sutskever', ' ']))),
    element(r, 'dc:creator', () => content(r, pick(r, ['Dwarkesh Patel', '', ' Gary Marcus ']))),
    chance(r, 0.2) ? '<enclosure url="https://e.example/a.mp3" length="1" type="audio/mpeg"/>' : '',
    chance(r, 0.2) ? '<media:group><title>nested, not the item title</title><link>https://nested.example/</link></media:group>' : '',
    chance(r, 0.1) ? '<category>AI</category><category domain="x">ML</category>' : '',
  ];
  shuffle(r, parts);
  const attrs = [chance(r, 0.2) ? ' xml:base="https://base.example/items/"' : '', chance(r, 0.1) ? ' rdf:about="https://about.example/1"' : ''].join('');
  const ws = chance(r, 0.5) ? '\n  ' : '';
  return `<item${attrs}>${ws}${parts.join(ws)}${ws}</item>`;
}

function atomEntry(r: R): string {
  const link = () => pick(r, ['<link href="https://e.example/alt" rel="alternate"/>', '<link rel="self" href="https://e.example/self"/>', '<link href="/rel/entry"/>',
    '<link rel="alternate" type="text/html"/>', '<link href="https://e.example/enclosure" rel="enclosure" length="3"/>', "<link href='https://e.example/single' />"]);
  const parts = [
    element(r, 'id', () => pick(r, ['tag:e.example,2025:1', 'https://e.example/id/2', ' urn:x '])),
    element(r, 'title', () => content(r, text(r)), ['type="html"', 'type="text"']),
    chance(r, 0.1) ? '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title>' : '',
    chance(r, 0.8) ? link() : '',
    chance(r, 0.4) ? link() : '',
    element(r, 'published', () => escapeXml(pick(r, DATES))),
    element(r, 'updated', () => escapeXml(pick(r, DATES))),
    element(r, 'content', () => content(r, pick(r, HTML)), ['type="html"', 'type="text"', 'xml:base="https://content.example/"']),
    chance(r, 0.1) ? '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>xhtml <b>body</b></p></div></content>' : '',
    element(r, 'summary', () => content(r, text(r)), ['type="html"']),
    chance(r, 0.7) ? `<author>${element(r, 'name', () => content(r, pick(r, ['Ilya Sutskever', ' ', 'Jane'])))}${chance(r, 0.3) ? '<email>j@e.example</email>' : ''}</author>` : '',
    chance(r, 0.1) ? '<author><name>Second Author</name></author>' : '',
    element(r, 'dc:creator', () => 'Ignored for Atom'),
    element(r, 'content:encoded', () => '&lt;p&gt;ignored for Atom&lt;/p&gt;'),
  ];
  shuffle(r, parts);
  const base = chance(r, 0.2) ? ' xml:base="/entries/"' : '';
  return `<entry${base}>${parts.join(chance(r, 0.5) ? '\n' : '')}</entry>`;
}

function shuffle<T>(r: R, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

function generatedFeed(r: R): { xml: string; kind: string } {
  const items = Math.floor(r() * 4);
  let kind: string;
  let doc: string;
  if (chance(r, 0.55)) {
    kind = 'rss';
    const version = pick(r, [' version="2.0"', ' version="2.0"', ' version="2.0"', ' version="0.91"', '', ' version="1.0"', " version='2.0'"]);
    const ns = [chance(r, 0.5) ? ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"' : '', chance(r, 0.05) ? ' xmlns:itunes=""' : '',
      ' xmlns:dc="http://purl.org/dc/elements/1.1/"', chance(r, 0.5) ? ' xmlns:content="http://purl.org/rss/1.0/modules/content/"' : ''].join('');
    const channelBase = chance(r, 0.2) ? ' xml:base="https://channel.example/dir/"' : '';
    const head = [element(r, 'title', () => content(r, text(r))), element(r, 'dc:title', () => text(r)), element(r, 'link', () => pick(r, ['https://site.example/', '/rel/', ''])),
      '<description>d</description>', chance(r, 0.3) ? '<atom:link rel="self" href="https://site.example/rss"/>' : '', chance(r, 0.2) ? '<image><url>https://i.example/x.png</url><title>img</title></image>' : ''];
    shuffle(r, head);
    const body = Array.from({ length: items }, () => rssItem(r)).join('\n');
    doc = `<rss${version}${ns}>${chance(r, 0.3) ? '\n' : ''}<channel${channelBase}>${head.join('')}${body}</channel>${chance(r, 0.05) ? '<channel><title>second</title></channel>' : ''}${chance(r, 0.05) ? '<item><title>outside the channel</title></item>' : ''}</rss>`;
  } else {
    kind = 'atom';
    const base = chance(r, 0.3) ? ' xml:base="https://feed.example/root/"' : '';
    const links = [chance(r, 0.6) ? '<link href="https://site.example/" rel="alternate"/>' : '', chance(r, 0.5) ? '<link rel="self" href="https://site.example/atom"/>' : '', chance(r, 0.2) ? '<link href="/only-rel-less"/>' : ''];
    shuffle(r, links);
    const title = element(r, 'title', () => content(r, text(r)), ['type="text"']);
    const body = Array.from({ length: items }, () => atomEntry(r)).join('\n');
    doc = `<feed xmlns="http://www.w3.org/2005/Atom"${base}>${title}${links.join('')}<id>urn:feed</id>${body}</feed>`;
  }
  // Document-level variations, a few of them not well-formed.
  const prolog = pick(r, ['<?xml version="1.0" encoding="UTF-8"?>\n', '', '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="s.xsl"?>', '<!-- generated -->\n', '  \n', chance(r, 0.2) ? 'junk ' : '']);
  let xml = prolog + doc + (chance(r, 0.9) ? pick(r, ['', '\n', '<!-- end -->']) : pick(r, ['\n<trailing/>', 'junk']));
  if (chance(r, 0.1)) xml = xml.replace(/\n/g, '\r\n');
  if (chance(r, 0.03)) xml = xml.replace('</title>', '</titel>');
  if (chance(r, 0.03)) xml = xml.replace(/<\/(rss|feed)>/, '');
  if (chance(r, 0.02)) xml = '<!DOCTYPE rss>' + xml;
  if (chance(r, 0.03)) xml = xml.replace('<title', '<_').replace('</title>', '</_>');
  if (chance(r, 0.03)) xml = xml.replace('<link href=', '<link  href = ');
  if (chance(r, 0.02)) xml = xml.replace('<link href="', '<link href="a" href="');
  return { xml, kind };
}
