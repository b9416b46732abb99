import RssParser from 'rss-parser';
import { describe, expect, it } from 'vitest';
import { parseFeed, resolve } from '../../src/gather/feeds.js';
import { rss } from './helpers.js';

const atom = (entries: string, attrs = '') => `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"${attrs}><title>Atom test</title><link href="https://blog.example/"/>${entries}</feed>`;

describe('parseFeed', () => {
  it('keeps an Atom entry with a bad date (rss-parser alone rejects the whole feed) and flags it', async () => {
    const xml = atom(`
      <entry><title>Good</title><link href="https://blog.example/good"/><id>1</id><published>2025-11-26T10:00:00Z</published><content type="html">&lt;p&gt;good text&lt;/p&gt;</content></entry>
      <entry><title>Bad</title><link href="https://blog.example/bad"/><id>2</id><published>26/11/2025 lunchtime</published></entry>
      <entry><title>Only updated</title><link href="https://blog.example/upd"/><id>3</id><updated>2025-11-27T00:00:00Z</updated></entry>`);
    await expect(new RssParser().parseString(xml)).rejects.toThrow(/Invalid time value/);
    const { items, problems, fatal } = await parseFeed(xml, 'https://blog.example/atom');
    expect(fatal).toBeNull();
    expect(items.map((i) => [i.title, i.date, i.dateProblem])).toEqual([
      ['Good', '2025-11-26T10:00:00.000Z', null],
      ['Bad', null, 'invalid'],
      ['Only updated', '2025-11-27T00:00:00.000Z', null],
    ]);
    expect(items[0]!.text).toBe('good text');
    expect(problems.map((p) => p.code)).toEqual(['FEED_DATE_INVALID']);
  });

  it('resolves relative links against xml:base, then the feed link, then the fetched URL', async () => {
    const a = await parseFeed(atom(`<entry xml:base="/posts/"><title>t</title><link href="one"/><id>x</id><content type="html">&lt;a href="two"&gt;l&lt;/a&gt;</content></entry>`, ' xml:base="https://base.example/root/"'), 'https://fetched.example/feed');
    expect(a.items[0]!.url).toBe('https://base.example/posts/one');
    expect(a.items[0]!.html).toContain('href="https://base.example/posts/two"');
    const r = await parseFeed(rss([{ title: 't', link: '/p/1' }], { channelLink: 'https://site.example/blog/' }), 'https://fetched.example/feed');
    expect(r.items[0]!.url).toBe('https://site.example/p/1');
    const f = await parseFeed(rss([{ title: 't', link: 'p/2' }], { channelLink: '' }), 'https://fetched.example/feeds/rss', { baseUrl: 'https://final.example/feeds/rss.xml' });
    expect(f.items[0]!.url).toBe('https://final.example/feeds/p/2');
  });

  it('falls back for missing title, link and guid', async () => {
    const xml = `<rss version="2.0"><channel><title>x</title>
      <item><description>First line of the body\n\nmore</description><guid>https://perma.example/1</guid></item>
      <item><description></description></item></channel></rss>`;
    const { items } = await parseFeed(xml, 'https://f.example/rss');
    expect(items[0]).toMatchObject({ title: 'First line of the body', url: 'https://perma.example/1', guid: 'https://perma.example/1' });
    expect(items[1]).toMatchObject({ title: '(untitled)', url: null, guid: null, dateProblem: 'missing' });
    expect(items[0]!.id).not.toBe(items[1]!.id);
  });

  it('accepts HTML entities that XML does not define', async () => {
    const xml = `<rss version="2.0"><channel><title>x</title><item><title>Scaling&nbsp;&mdash; research</title><link>https://e.example/a</link></item></channel></rss>`;
    expect((await parseFeed(xml, 'https://f.example/rss')).items[0]!.title).toBe('Scaling — research');
  });

  it('caps the number of items and says so', async () => {
    const xml = rss(Array.from({ length: 5 }, (_, i) => ({ title: `n${i}`, link: `https://e.example/${i}` })));
    const r = await parseFeed(xml, 'https://f.example/rss', { maxItems: 2 });
    expect(r.items.map((i) => i.title)).toEqual(['n0', 'n1']);
    expect(r.problems.map((p) => p.code)).toEqual(['FEED_ITEMS_CAPPED']);
  });

  it('carries the feed config onto items and sanitizes their HTML', async () => {
    const xml = rss([{ title: 't', link: 'https://e.example/a', description: '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">x</a></p>' }]);
    const { items } = await parseFeed(xml, 'https://f.example/rss', { feed: { id: 'marcus', stance: 'paradigm', speakers: ['gary-marcus'], primary: false } });
    expect(items[0]).toMatchObject({ sourceId: 'marcus', stance: 'paradigm', speakers: ['gary-marcus'], kind: 'feed', html: '<p>Hi <a>x</a></p>', text: 'Hi x' });
  });

  it('never throws on junk', async () => {
    for (const junk of ['', 'not xml', '<html><body>hi</body></html>', '<rss version="2.0"><channel>', '\u0000\u0001']) {
      const r = await parseFeed(junk, 'https://f.example/rss');
      expect(r.fatal?.code).toBe('FEED_PARSE_FAILED');
    }
  });
});

describe('resolve', () => {
  it('gives what new URL(link, base) gives, also where it skips parsing the base for an absolute link', () => {
    const reference = (raw: string, base: string | null) => {
      if (!raw) return null;
      try {
        const u = base ? new URL(raw.trim(), base) : new URL(raw.trim());
        return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
      } catch {
        return null;
      }
    };
    const links = ['https://a.example/x', 'HTTP://A.example', 'http://', 'https:///x', 'http:/x', 'http:x', 'https://u:p@h.example:8080/a/../b?q#f',
      'https://[::1]/', 'https://xn--nxasmq6b.example/', 'https://bad host/', 'http://a.example\\b', ' https://a.example/ ', 'https://a.example/%zz',
      '//cdn.example/x', '/p', 'p?q', '#f', '', 'mailto:a@b', 'javascript:alert(1)', 'https://1.2.3/', 'https://0x7f.1/', 'h\ttps://a.example/'];
    const bases = [null, 'https://feed.example/dir/feed.xml', 'http://u:p@feed.example:81/', 'https://feed.example/a/b/'];
    for (const l of links) for (const b of bases) expect(resolve(l, b), `${l} against ${b}`).toBe(reference(l, b));
  });
});

describe('parseItemDate', () => {
  it.each([
    ['Tue, 25 Nov 2025 10:00:00 GMT', '2025-11-25T10:00:00.000Z'],
    ['2025-11-25T10:00:00+01:00', '2025-11-25T09:00:00.000Z'],
    ['Seg, 24 Set 2018 19:42:40 -0300', '2018-09-24T22:42:40.000Z'],
    ['Mi, 03 Dez 2025 08:00:00 +0100', '2025-12-03T07:00:00.000Z'],
    ['lun., 01 déc. 2025 12:00:00 GMT', '2025-12-01T12:00:00.000Z'],
  ])('%s', async (raw, iso) => {
    const { parseItemDate } = await import('../../src/gather/feeds.js');
    expect(parseItemDate(raw)).toEqual({ date: iso, dateProblem: null });
  });

  it('says invalid or missing', async () => {
    const { parseItemDate } = await import('../../src/gather/feeds.js');
    expect(parseItemDate('32 Foo 2025 99:99')).toEqual({ date: null, dateProblem: 'invalid' });
    expect(parseItemDate(' ')).toEqual({ date: null, dateProblem: 'missing' });
  });
});

describe('credentials', () => {
  it('never copies the feed URL\'s user:password into item links or HTML', async () => {
    const xml = rss([{ title: 't', link: '/post', description: '<a href="/other">x</a><img src="i.png" alt="">' }], { channelLink: '' });
    const r = await parseFeed(xml, 'https://example.org/feed', { baseUrl: 'https://reader:s3cret@example.org/feed' });
    expect(JSON.stringify(r)).not.toMatch(/reader|s3cret/);
    expect(r.items[0]!.url).toBe('https://example.org/post');
  });
});
