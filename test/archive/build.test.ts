/**
 * The archive built for real by Eleventy from the fixture records into a temp dir, then checked with tools we did
 * not write: Debian's feedparser, xmllint. Also: rebuild stability, hostile input, links, incremental builds.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSite, entryId, issueTitle, issueUrl, MANIFEST_FILE } from '../../src/render/archive.js';
import { escapeHtml } from '../../src/render/helpers.js';
import { DigestError } from '../../src/errors.js';
import type { Config, Digest } from '../../src/model.js';
import { findBrokenLinks, fixtureDigests, listFiles, ROOT, run, tagAttributes, tempDigests, tempDir, testConfig, urlAttributes } from './support.js';

const PY = '/usr/bin/python3';

let config: Config;
let digests: Digest[];
let digestsDir: string;
let siteDir: string;
let result: { pages: number; files: string[] };

beforeAll(async () => {
  config = await testConfig({ basePath: '/' });
  digests = await fixtureDigests();
  digestsDir = await tempDigests();
  siteDir = await tempDir('archive-site-');
  result = await buildSite({ digestsDir, siteDir, config, quiet: true });
});

const FEEDPARSER = `
import sys, json, feedparser
atom = feedparser.parse(sys.argv[1])
raw = open(sys.argv[2], 'rb').read()
jf = feedparser.parse(raw, response_headers={'content-type': 'application/feed+json'})
def entries(d):
    return [{'id': e.get('id'), 'title': e.get('title'), 'updated': e.get('updated'), 'link': e.get('link')} for e in d.entries]
print(json.dumps({
  'atom': {'bozo': int(bool(atom.bozo)), 'error': str(atom.get('bozo_exception', '')), 'version': atom.version, 'entries': entries(atom),
           'title': atom.feed.get('title'), 'links': [l.get('href') for l in atom.feed.get('links', [])]},
  'json': {'supported': (jf.version or '').startswith('json'), 'bozo': int(bool(jf.bozo)), 'entries': entries(jf)},
  'jsonStd': json.loads(raw),
}))
`;

describe('the built archive', () => {
  it('writes every page from the records only (seen.json, sends/ and stray files ignored)', async () => {
    const html = await listFiles(siteDir, '.html');
    expect(html).toEqual(expect.arrayContaining([
      'index.html', '404.html', 'subscribe/index.html', 'search/index.html', 'themes/index.html', 'speakers/index.html',
      'issues/2026-11-19-1/index.html', 'issues/2026-11-24-2/index.html', 'issues/2026-11-30-3/index.html',
      'themes/scaling-era/index.html', 'themes/generalization/index.html', 'speakers/ilya-sutskever/index.html',
      'speakers/renata-sollberger/index.html',
    ]));
    expect(html.filter((f) => f.startsWith('issues/'))).toHaveLength(3);
    expect(result.pages).toBe(html.length);
    for (const f of ['feed.xml', 'feed.json', 'sitemap.xml', 'assets/site.css', 'assets/search.js', 'pagefind/pagefind.js']) {
      expect(existsSync(path.join(siteDir, f)), f).toBe(true);
    }
    expect(result.files).toContain('issues/2026-11-30-3/index.html');
  });

  it('home shows the latest issue first, then every issue', async () => {
    const home = await readFile(path.join(siteDir, 'index.html'), 'utf8');
    const latest = home.indexOf('Latest issue');
    expect(latest).toBeGreaterThan(0);
    expect(home.indexOf(escapeHtml(issueTitle(digests[0]!)))).toBeGreaterThan(latest);
    for (const d of digests) expect(home).toContain(`href="/issues/${d.id}/"`);
  });

  it('issue pages carry number and date in the title, one anchor per quote, and Open Graph/Twitter meta', async () => {
    for (const d of digests) {
      const html = await readFile(path.join(siteDir, `issues/${d.id}/index.html`), 'utf8');
      expect(html).toContain(`<title>${escapeHtml(issueTitle(d))}`);
      expect(html).toMatch(/<title>Issue \d+ · /);
      for (const s of d.sections) {
        for (const q of s.quotes) {
          expect(html.split(`id="q-${q.id}"`)).toHaveLength(2);
          // Verbatim: the record's text, escaped and otherwise unchanged.
          expect(html).toContain(`<p>${escapeHtml(q.text)}</p>`);
        }
      }
      expect(html).toContain(`<meta property="og:url" content="${issueUrl(config, d.id)}">`);
      expect(html).toContain('<meta property="og:type" content="article">');
      expect(html).toContain('<meta name="twitter:card" content="summary">');
      expect(html).toContain('<link rel="alternate" type="application/atom+xml"');
      expect(html).toContain('<link rel="alternate" type="application/feed+json"');
    }
  });

  it('theme pages list every quote across issues, newest first, with counterpoints', async () => {
    const html = await readFile(path.join(siteDir, 'themes/generalization/index.html'), 'utf8');
    // Issue 3, then issue 2 in its section order, then issue 1 (the link under each quote says which issue).
    const order = ['2d3e4f5a6b7c', 'e5f6a1b2c3d4', 'a7b8c9d0e1f2', 'c3d4e5f6a1b2'].map((id) => html.indexOf(`#q-${id}">In Issue`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain('Counterpoint');
    const scaling = await readFile(path.join(siteDir, 'themes/scaling-era/index.html'), 'utf8');
    expect(scaling).toContain(escapeHtml('Scaling was never going to get us all the way; I have been saying that for years.'));
  });

  it('shows an unattributed quote as quoted by its source', async () => {
    const html = await readFile(path.join(siteDir, 'issues/2026-11-24-2/index.html'), 'utf8');
    expect(html).toMatch(/id="q-e5f6a1b2c3d4">Unattributed<\/h3>/);
    expect(html).toContain('As quoted by <cite><a href="https://example.org/newsletter/week-48"');
  });

  it('feedparser reads the Atom feed with bozo 0 and the records’ ids, titles and dates; the JSON feed matches', async () => {
    const out = await run(PY, ['-c', FEEDPARSER, path.join(siteDir, 'feed.xml'), path.join(siteDir, 'feed.json')]);
    expect(out.stderr).toBe('');
    const parsed = JSON.parse(out.stdout) as {
      atom: { bozo: number; error: string; version: string; entries: { id: string; title: string; updated: string; link: string }[]; links: string[] };
      json: { supported: boolean; bozo: number; entries: { id: string; title: string }[] };
      jsonStd: { version: string; items: { id: string; title: string; url: string; content_html: string; date_published: string; date_modified: string }[]; feed_url: string; home_page_url: string };
    };
    expect(parsed.atom.bozo, parsed.atom.error).toBe(0);
    expect(parsed.atom.version).toBe('atom10');
    const expected = digests.map((d) => ({ id: entryId(config, d), title: issueTitle(d), updated: d.publishedAt.replace('.000Z', 'Z'), link: issueUrl(config, d.id) }));
    expect(parsed.atom.entries).toEqual(expected);
    expect(parsed.atom.links).toContain('https://example.github.io/feed.xml');
    // Debian's feedparser 6.0.10 has XML parsers only; when a version with JSON Feed support is installed, hold it to bozo 0 too.
    if (parsed.json.supported) {
      expect(parsed.json.bozo).toBe(0);
      expect(parsed.json.entries.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    }
    const jf = parsed.jsonStd;
    expect(jf.version).toBe('https://jsonfeed.org/version/1.1');
    expect(jf.feed_url).toBe('https://example.github.io/feed.json');
    expect(jf.items.map((i) => ({ id: i.id, title: i.title, updated: i.date_modified, link: i.url }))).toEqual(expected);
    for (const item of jf.items) {
      expect(item.date_published).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(item.content_html.length).toBeGreaterThan(100);
    }
    const atom = await readFile(path.join(siteDir, 'feed.xml'), 'utf8');
    expect(atom).toContain(`<updated>${digests[0]!.publishedAt.replace('.000Z', 'Z')}</updated>`);
    for (const f of ['feed.xml', 'feed.json']) expect((await stat(path.join(siteDir, f))).size).toBeLessThan(500 * 1024);
  });

  it('xmllint accepts feed.xml and sitemap.xml', async () => {
    const out = await run('xmllint', ['--noout', path.join(siteDir, 'feed.xml'), path.join(siteDir, 'sitemap.xml')]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const sitemap = await readFile(path.join(siteDir, 'sitemap.xml'), 'utf8');
    for (const d of digests) expect(sitemap).toContain(`<loc>${issueUrl(config, d.id)}</loc>`);
    expect(sitemap).not.toContain('404');
  });

  it('renders the hostile record with no live <script> and no javascript: URL anywhere', async () => {
    for (const page of await listFiles(siteDir, '.html')) {
      const html = await readFile(path.join(siteDir, page), 'utf8');
      const scripts = html.match(/<script\b[^>]*>/gi) ?? [];
      // The only script in the site is the search page's own module, loaded from our own assets.
      expect(scripts, page).toEqual(page === 'search/index.html' ? ['<script type="module" src="/assets/search.js" data-base="/">'] : []);
      for (const { attr, value } of urlAttributes(html)) {
        expect(/^\s*(javascript|data|vbscript):/i.test(value), `${page} ${attr}=${value}`).toBe(false);
      }
      const attributes = tagAttributes(html);
      expect(attributes.filter((a) => a.tag === 'img' || a.tag === 'iframe' || a.tag === 'object'), page).toEqual([]);
      expect(attributes.filter((a) => a.name.startsWith('on')), page).toEqual([]);
    }
    const issue = await readFile(path.join(siteDir, 'issues/2026-11-30-3/index.html'), 'utf8');
    expect(issue).toContain('&lt;script&gt;alert(&quot;quote&quot;)&lt;/script&gt;');
    const feed = await readFile(path.join(siteDir, 'feed.xml'), 'utf8');
    // In Atom the entry HTML is itself escaped once more, so a script tag is &amp;lt;script&amp;gt; there.
    expect(feed).not.toMatch(/<script/i);
    expect(feed).not.toMatch(/href=&quot;\s*javascript:/i);
    const json = JSON.parse(await readFile(path.join(siteDir, 'feed.json'), 'utf8')) as { items: { content_html: string }[] };
    for (const item of json.items) {
      expect(item.content_html).not.toMatch(/<script/i);
      expect(item.content_html).not.toMatch(/href="\s*javascript:/i);
    }
  });

  it('puts feed autodiscovery links, a main landmark and one h1 on every page', async () => {
    for (const page of await listFiles(siteDir, '.html')) {
      const html = await readFile(path.join(siteDir, page), 'utf8');
      expect(html, page).toContain('<link rel="alternate" type="application/atom+xml" title="Debate Digest: the age of scaling or the age of research? (Atom feed)" href="/feed.xml">');
      expect(html, page).toContain('<link rel="alternate" type="application/feed+json" title="Debate Digest: the age of scaling or the age of research? (JSON feed)" href="/feed.json">');
      expect(html.match(/<main\b/g), page).toHaveLength(1);
      expect(html.match(/<h1\b/g), page).toHaveLength(1);
    }
  });

  it('builds a valid empty archive when there are no records yet', async () => {
    const empty = await tempDir('archive-empty-');
    await buildSite({ digestsDir: path.join(empty, 'missing'), siteDir: empty, config, quiet: true, skipSearchIndex: true });
    expect(await readFile(path.join(empty, 'index.html'), 'utf8')).toContain('No issues yet.');
    const out = await run('xmllint', ['--noout', path.join(empty, 'feed.xml'), path.join(empty, 'sitemap.xml')]);
    expect(out.code, out.stderr).toBe(0);
    const py = await run(PY, ['-c', 'import sys, feedparser; d = feedparser.parse(sys.argv[1]); print(int(bool(d.bozo)), len(d.entries))', path.join(empty, 'feed.xml')]);
    expect(py.stdout.trim()).toBe('0 0');
  });

  it('has no broken internal links', async () => {
    expect(await findBrokenLinks(siteDir, '/')).toEqual([]);
  });

  it('keeps entry ids, dates and pages identical across a rebuild', async () => {
    const before = await Promise.all(['feed.xml', 'feed.json', 'sitemap.xml', 'issues/2026-11-19-1/index.html'].map((f) => readFile(path.join(siteDir, f), 'utf8')));
    const again = await tempDir('archive-site-again-');
    await buildSite({ digestsDir, siteDir: again, config, quiet: true });
    const after = await Promise.all(['feed.xml', 'feed.json', 'sitemap.xml', 'issues/2026-11-19-1/index.html'].map((f) => readFile(path.join(again, f), 'utf8')));
    expect(after).toEqual(before);
    const ids = (xml: string): string[] => [...xml.matchAll(/<id>([^<]+)<\/id>/g)].map((m) => m[1]!);
    expect(ids(after[0]!)).toEqual(ids(before[0]!));
    await rm(again, { recursive: true, force: true });
  });

  it('builds the same site when its pages are rendered in many passes (one page each)', async () => {
    const passes = await tempDir('archive-passes-');
    const r = await buildSite({ digestsDir, siteDir: passes, config, quiet: true, skipSearchIndex: true, passWeight: 1 });
    const files = (await listFiles(siteDir, '')).filter((f) => !f.startsWith('pagefind/') && f !== MANIFEST_FILE);
    expect((await listFiles(passes, '')).filter((f) => f !== MANIFEST_FILE)).toEqual(files);
    for (const f of files) expect(await readFile(path.join(passes, f), 'utf8'), f).toBe(await readFile(path.join(siteDir, f), 'utf8'));
    expect(r.pages).toBe(result.pages);
    expect(r.files).toEqual(result.files.filter((f) => !f.startsWith('pagefind/')));
    await rm(passes, { recursive: true, force: true });
  });

  it('names the file of a malformed record (RECORD_INVALID)', async () => {
    const dir = await tempDigests();
    await writeFile(path.join(dir, '2026-12-07-4.json'), '{"schema":1,"id":"2026-12-07-4","number":4,');
    const err = await buildSite({ digestsDir: dir, siteDir: await tempDir('archive-bad-'), config, quiet: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('RECORD_INVALID');
    expect((err as DigestError).origin).toContain('2026-12-07-4.json');
    const record = JSON.parse(await readFile(path.join(dir, '2026-11-30-3.json'), 'utf8')) as Record<string, unknown>;
    record.sections = [{ themeId: 'x', title: 'x', description: '', quotes: [{ id: 'q', text: 42 }] }];
    await writeFile(path.join(dir, '2026-12-07-4.json'), JSON.stringify({ ...record, id: '2026-12-07-4' }));
    const err2 = await buildSite({ digestsDir: dir, siteDir: await tempDir('archive-bad-'), config, quiet: true }).catch((e: unknown) => e);
    expect((err2 as DigestError).code).toBe('RECORD_INVALID');
    expect((err2 as DigestError).message).toContain('sections[0].quotes[0].text');
  });
});

describe('incremental builds', () => {
  it('after adding an issue rewrites only what changed, and matches a full build', async () => {
    const dir = await tempDigests();
    const inc = await tempDir('archive-inc-');
    await buildSite({ digestsDir: dir, siteDir: inc, config, quiet: true, incremental: true });
    const oldest = path.join(inc, 'issues/2026-11-19-1/index.html');
    const oldestMtime = (await stat(oldest)).mtimeMs;
    // A fourth issue, the same content as the third under a new id: a new page, a new "next" link on issue 3.
    const third = JSON.parse(await readFile(path.join(dir, '2026-11-30-3.json'), 'utf8')) as Digest;
    const fourth: Digest = { ...third, id: '2026-12-07-4', number: 4, date: '2026-12-07', slot: '2026-W50', publishedAt: '2026-12-07T07:00:00.000Z', title: 'A fourth issue' };
    await writeFile(path.join(dir, '2026-12-07-4.json'), JSON.stringify(fourth, null, 2));
    await buildSite({ digestsDir: dir, siteDir: inc, config, quiet: true, incremental: true });
    expect((await stat(oldest)).mtimeMs).toBe(oldestMtime);
    expect(await readFile(path.join(inc, 'issues/2026-11-30-3/index.html'), 'utf8')).toContain('href="/issues/2026-12-07-4/"');

    const full = await tempDir('archive-full-');
    await buildSite({ digestsDir: dir, siteDir: full, config, quiet: true });
    const pages = (await listFiles(full, '.html')).filter((f) => !f.startsWith('pagefind/'));
    expect(await listFiles(inc, '.html').then((l) => l.filter((f) => !f.startsWith('pagefind/')))).toEqual(pages);
    for (const page of [...pages, '../feed.xml', '../feed.json', '../sitemap.xml'].map((p) => p.replace('../', ''))) {
      expect(await readFile(path.join(inc, page), 'utf8'), page).toBe(await readFile(path.join(full, page), 'utf8'));
    }
    const manifest = JSON.parse(await readFile(path.join(inc, MANIFEST_FILE), 'utf8')) as { records: Record<string, unknown> };
    expect(Object.keys(manifest.records).sort()).toEqual(['2026-11-19-1', '2026-11-24-2', '2026-11-30-3', '2026-12-07-4']);

    // Removing a record: a full build drops its page, and a changed config forces a full build.
    await rm(path.join(dir, '2026-12-07-4.json'));
    await buildSite({ digestsDir: dir, siteDir: inc, config: { ...config, site: { ...config.site, title: 'Renamed' } }, quiet: true, incremental: true });
    expect(existsSync(path.join(inc, 'issues/2026-12-07-4/index.html'))).toBe(false);
    expect(await readFile(oldest, 'utf8')).toContain('Renamed');
  });

  it('finds its templates when run from another working directory', async () => {
    const work = await tempDir('archive-cwd-');
    const out = path.join(work, 'site');
    const script = path.join(work, 'build.mts');
    await writeFile(script, [
      `import { buildSite } from ${JSON.stringify(path.join(ROOT, 'src/render/archive.ts'))};`,
      `const config = JSON.parse(process.argv[2]);`,
      `const r = await buildSite({ digestsDir: ${JSON.stringify(digestsDir)}, siteDir: 'site', config, skipSearchIndex: true });`,
      `console.log(JSON.stringify(r.pages));`,
    ].join('\n'));
    const r = await run(path.join(ROOT, 'node_modules/.bin/tsx'), [script, JSON.stringify(config)], { cwd: work });
    expect(r.stderr).toBe('');
    expect(Number(r.stdout.trim())).toBeGreaterThan(10);
    expect(existsSync(path.join(out, 'issues/2026-11-30-3/index.html'))).toBe(true);
  });
});
