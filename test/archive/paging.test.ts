/**
 * Theme and speaker pages in pages: a synthetic archive of 7 issues with 3 issues a page, so the theme every
 * issue has (generalization) and the speaker every issue quotes (Ilya Sutskever) take 3 pages: page 1 the newest
 * issue, pages 2 and 3 three issues each. Built for real by Eleventy; then issues are added and removed to see
 * what an incremental build rewrites.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSite, MANIFEST_FILE } from '../../src/render/archive.js';
import type { Config, Digest } from '../../src/model.js';
import { findBrokenLinks, listFiles, tempDir, testConfig, writeSyntheticIssues } from './support.js';

const PER_PAGE = 3;
const THEME = 'generalization';
const TITLE = 'Generalization and sample efficiency';
const SPEAKER = 'ilya-sutskever';
const NAME = 'Ilya Sutskever';

let config: Config;
let digests: Digest[];
let siteDir: string;

/** The html of a theme's or speaker's pages (`themes/<id>`, `speakers/<id>`), page 1 first (page/<n>/ read until one is missing). */
async function listPages(dir: string, list: string): Promise<string[]> {
  const pages = [await readFile(path.join(dir, `${list}/index.html`), 'utf8')];
  for (let n = 2; existsSync(path.join(dir, `${list}/page/${n}/index.html`)); n++) {
    pages.push(await readFile(path.join(dir, `${list}/page/${n}/index.html`), 'utf8'));
  }
  return pages;
}

/** The issues a page shows, by their group headings. */
const issuesOn = (html: string): string[] => [...html.matchAll(/<section class="group" aria-labelledby="g-([^"]+)">/g)].map((m) => m[1]!);

/** [rel, href] of the page's <link rel=prev|next> in the head and of its visible <a rel=prev|next>. */
function relLinks(html: string, tag: 'link' | 'a'): string[][] {
  return [...html.matchAll(new RegExp(`<${tag} rel="(prev|next)" href="([^"]+)">`, 'g'))].map((m) => [m[1]!, m[2]!]);
}

/** Each theme's quotes as the records give them, newest issue first: `<issue id>#q-<quote id>`. */
function quotesByTheme(records: Digest[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of [...records].sort((a, b) => b.number - a.number)) {
    const seen = new Set<string>();
    for (const s of d.sections) {
      for (const q of s.quotes) {
        for (const t of new Set([s.themeId, ...q.themes])) {
          const key = `${t} ${q.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.set(t, [...(out.get(t) ?? []), `${d.id}/#q-${q.id}`]);
        }
      }
    }
  }
  return out;
}

/**
 * Each speaker's quotes and the quotes their counterpoints answer, as the records give them, newest issue first:
 * `<issue id>/#q-<quote id>`.
 */
function quotesBySpeaker(records: Digest[]): Map<string, { quotes: string[]; answers: string[] }> {
  const out = new Map<string, { quotes: string[]; answers: string[] }>();
  const of = (id: string): { quotes: string[]; answers: string[] } => out.get(id) ?? out.set(id, { quotes: [], answers: [] }).get(id)!;
  for (const d of [...records].sort((a, b) => b.number - a.number)) {
    const seen = new Set<string>();
    for (const q of d.sections.flatMap((s) => s.quotes)) {
      if (q.speaker && q.speakerName && !seen.has(q.id)) of(q.speaker).quotes.push(`${d.id}/#q-${q.id}`);
      seen.add(q.id);
      for (const c of q.counterpoints) if (c.speaker && c.speakerName) of(c.speaker).answers.push(`${d.id}/#q-${q.id}`);
    }
  }
  return out;
}

/** Every file two builds wrote (but their manifests and search index) is the same. */
async function expectSameSite(actual: string, expected: string): Promise<void> {
  const files = async (dir: string): Promise<string[]> => (await listFiles(dir, '')).filter((f) => f !== MANIFEST_FILE && !f.startsWith('pagefind/'));
  const list = await files(expected);
  expect(await files(actual)).toEqual(list);
  for (const f of list) expect(await readFile(path.join(actual, f), 'utf8'), f).toBe(await readFile(path.join(expected, f), 'utf8'));
}

beforeAll(async () => {
  config = await testConfig({ basePath: '/' });
  const digestsDir = await tempDir('archive-paging-digests-');
  digests = await writeSyntheticIssues(digestsDir, 1, 7);
  siteDir = await tempDir('archive-paging-site-');
  await buildSite({ digestsDir, siteDir, config, quiet: true, skipSearchIndex: true, pageIssues: PER_PAGE });
});

describe('theme pages in pages', () => {
  it('writes /themes/<id>/ as page 1, then /page/2/ and /page/3/, each titled with its page and linked to its neighbours', async () => {
    const files = await listFiles(path.join(siteDir, `themes/${THEME}`), '.html');
    expect(files).toEqual(['index.html', 'page/2/index.html', 'page/3/index.html']);
    const pages = await listPages(siteDir, `themes/${THEME}`);
    const href = (n: number): string => (n === 1 ? `/themes/${THEME}/` : `/themes/${THEME}/page/${n}/`);
    const expected = [[['next', href(2)]], [['prev', href(1)], ['next', href(3)]], [['prev', href(2)]]];
    pages.forEach((html, i) => {
      const n = i + 1;
      expect(html, `page ${n}`).toContain(`<title>Theme: ${TITLE}, page ${n} of 3 — `);
      expect(html).toContain(`<link rel="canonical" href="https://example.github.io${href(n)}">`);
      expect(relLinks(html, 'link'), `page ${n}`).toEqual(expected[i]);
      expect(relLinks(html, 'a'), `page ${n}`).toEqual(expected[i]);
      // The pager: every page by number, the current one marked.
      for (const k of [1, 2, 3]) {
        expect(html).toContain(`<a href="${href(k)}" aria-label="Page ${k}"${k === n ? ' aria-current="page"' : ''}>${k}</a>`);
      }
      expect(html.match(/<h1\b/g)).toHaveLength(1);
    });
    expect(pages[0]).not.toContain('Newer quotes');
    expect(pages[1]).toMatch(/>← Newer quotes<\/a>/);
    expect(pages[1]).toMatch(/>Older quotes →<\/a>/);
    // A theme that fits one page keeps its single page, with no pager and no page in its title.
    const single = await readFile(path.join(siteDir, 'themes/evals-rl/index.html'), 'utf8');
    expect(single).toContain('<title>Theme: Evals, RL environments and reward hacking — ');
    expect(single).not.toContain('rel="next"');
    expect(existsSync(path.join(siteDir, 'themes/evals-rl/page/2/index.html'))).toBe(false);
  });

  it('lists the pages in the sitemap, keeps issue pages linking to page 1, and has no broken link', async () => {
    const sitemap = await readFile(path.join(siteDir, 'sitemap.xml'), 'utf8');
    for (const p of ['', 'page/2/', 'page/3/']) expect(sitemap).toContain(`<loc>https://example.github.io/themes/${THEME}/${p}</loc>`);
    const issue = await readFile(path.join(siteDir, `issues/${digests[6]!.id}/index.html`), 'utf8');
    expect(issue).toContain(`<a href="/themes/${THEME}/">${TITLE}</a>`);
    expect(issue).not.toContain(`/themes/${THEME}/page/`);
    expect(await findBrokenLinks(siteDir, '/')).toEqual([]);
  });

  it('shows every quote of every theme on exactly one of its pages, newest first, the totals on page 1', async () => {
    const expected = quotesByTheme(digests);
    expect(expected.get(THEME)?.length).toBeGreaterThan(7);
    for (const [theme, quotes] of expected) {
      const pages = await listPages(siteDir, `themes/${theme}`);
      // The link under each quote on a theme page: "In Issue n · …" to its anchor in the issue.
      const shown = pages.map((html) => [...html.matchAll(/href="\/issues\/([^"]+)">In Issue/g)].map((m) => m[1]!));
      expect(shown.flat(), theme).toEqual(quotes);
      expect(pages.length, theme).toBe(Math.ceil(new Set(quotes.map((q) => q.split('/')[0])).size / PER_PAGE));
    }
    const pages = await listPages(siteDir, `themes/${THEME}`);
    expect(pages[0]).toContain(`${expected.get(THEME)!.length} quotes across 7 issues, newest first. Page 1 of 3:`);
    // Page 1 holds the newest issue alone; the older pages three whole issues each.
    expect(pages.map(issuesOn)).toEqual([[digests[6]!.id], [5, 4, 3].map((i) => digests[i]!.id), [2, 1, 0].map((i) => digests[i]!.id)]);
    expect(pages[1]).not.toMatch(/quotes across/);
    // Issues 4 to 6, a week apart from January 2, 2017.
    expect(pages[1]).toContain('Page 2 of 3: January 23, 2017 to February 6, 2017, newest first.');
  });

  it('rewrites only page 1 of a theme and of a speaker when an issue is added, every page when one opens a new page, and drops pages that go', async () => {
    const digestsDir = await tempDir('archive-paging-inc-');
    await writeSyntheticIssues(digestsDir, 1, 7);
    const inc = await tempDir('archive-paging-inc-site-');
    const build = (siteDir: string, incremental: boolean) => buildSite({ digestsDir, siteDir, config, quiet: true, skipSearchIndex: true, pageIssues: PER_PAGE, incremental });
    const full = async (): Promise<string> => {
      const dir = await tempDir('archive-paging-full-');
      await build(dir, false);
      return dir;
    };
    const lists = [`themes/${THEME}`, `speakers/${SPEAKER}`];
    const files = lists.map((list) => ['index.html', 'page/2/index.html', 'page/3/index.html'].map((f) => path.join(inc, list, f)));
    const mtimes = (): Promise<number[][]> => Promise.all(files.map((fs) => Promise.all(fs.map(async (f) => (await stat(f)).mtimeMs))));
    await build(inc, true);
    const before = await mtimes();

    // Issue 8 (which quotes Ilya Sutskever): page 1 gains it; pages 2 and 3 hold the same issues as before and
    // are not rewritten.
    const [eighth] = await writeSyntheticIssues(digestsDir, 8, 8);
    const r8 = await build(inc, true);
    const after = await mtimes();
    lists.forEach((list, i) => {
      expect(after[i]![0], list).not.toBe(before[i]![0]);
      expect(after[i]!.slice(1), list).toEqual(before[i]!.slice(1));
      expect(r8.files).toContain(`${list}/page/3/index.html`);
    });
    for (const fs of files) expect(await readFile(fs[0]!, 'utf8')).toContain(`id="g-${eighth!.id}"`);
    await expectSameSite(inc, await full());

    // Issues 9 and 10: page 1 is full at 9; the 10th opens a new page 1 and the others move down a number.
    await writeSyntheticIssues(digestsDir, 9, 10);
    await build(inc, true);
    for (const list of lists) {
      expect(existsSync(path.join(inc, `${list}/page/4/index.html`)), list).toBe(true);
      expect(await readFile(path.join(inc, `${list}/page/2/index.html`), 'utf8')).toContain(`id="g-${eighth!.id}"`);
    }
    await expectSameSite(inc, await full());

    // Removing them again: the fourth page goes in an incremental build too, and the site is as a full build's.
    for (const name of (await readdir(digestsDir)).filter((f) => /-(9|10)\.json$/.test(f))) await rm(path.join(digestsDir, name));
    await build(inc, true);
    for (const list of lists) expect(existsSync(path.join(inc, `${list}/page/4/index.html`)), list).toBe(false);
    await expectSameSite(inc, await full());
  });
});

describe('stale pages', () => {
  it('an incremental build deletes only files inside the site, whatever the manifest lists', async () => {
    const digestsDir = await tempDir('archive-stale-');
    await writeSyntheticIssues(digestsDir, 1, 2);
    const root = await tempDir('archive-stale-root-');
    const siteDir = path.join(root, '_site');
    const build = () => buildSite({ digestsDir, siteDir, config, quiet: true, skipSearchIndex: true, pageIssues: PER_PAGE, incremental: true });
    await build();
    const outside = path.join(root, 'keep.json');
    await writeFile(outside, '{}');
    const manifest = JSON.parse(await readFile(path.join(siteDir, MANIFEST_FILE), 'utf8')) as { files: string[] };
    manifest.files.push('../keep.json', 'old/page.html');
    await mkdir(path.join(siteDir, 'old'), { recursive: true });
    await writeFile(path.join(siteDir, 'old/page.html'), 'gone');
    await writeFile(path.join(siteDir, MANIFEST_FILE), JSON.stringify(manifest));
    await writeSyntheticIssues(digestsDir, 3, 3);
    await build();
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(path.join(siteDir, 'old/page.html'))).toBe(false);
  });
});

describe('speaker pages in pages', () => {
  const href = (n: number): string => (n === 1 ? `/speakers/${SPEAKER}/` : `/speakers/${SPEAKER}/page/${n}/`);

  it('writes /speakers/<id>/ as page 1, then /page/2/ and /page/3/, each titled with its page and linked to its neighbours', async () => {
    expect(await listFiles(path.join(siteDir, `speakers/${SPEAKER}`), '.html')).toEqual(['index.html', 'page/2/index.html', 'page/3/index.html']);
    const pages = await listPages(siteDir, `speakers/${SPEAKER}`);
    const expected = [[['next', href(2)]], [['prev', href(1)], ['next', href(3)]], [['prev', href(2)]]];
    pages.forEach((html, i) => {
      const n = i + 1;
      expect(html, `page ${n}`).toContain(`<title>${NAME}, page ${n} of 3 — `);
      expect(html).toContain(`<meta name="description" content="Quotes by ${NAME}, `);
      expect(html).toContain(`(page ${n} of 3)">`);
      expect(html).toContain(`<link rel="canonical" href="https://example.github.io${href(n)}">`);
      expect(relLinks(html, 'link'), `page ${n}`).toEqual(expected[i]);
      expect(relLinks(html, 'a'), `page ${n}`).toEqual(expected[i]);
      expect(html).toContain(`<nav class="pager list-pager" aria-label="Pages of ${NAME}’s quotes">`);
      for (const k of [1, 2, 3]) {
        expect(html).toContain(`<a href="${href(k)}" aria-label="Page ${k}"${k === n ? ' aria-current="page"' : ''}>${k}</a>`);
      }
      expect(html.match(/<h1\b/g)).toHaveLength(1);
    });
    // Page 1 holds the newest issue alone; the older pages three whole issues each.
    expect(pages.map(issuesOn)).toEqual([[digests[6]!.id], [5, 4, 3].map((i) => digests[i]!.id), [2, 1, 0].map((i) => digests[i]!.id)]);
    expect(pages[1]).toContain('Page 2 of 3: January 23, 2017 to February 6, 2017, newest first.');
    expect(pages[1]).not.toMatch(/ quotes? and /);
    // A speaker on fewer issues than a page keeps one page, with no pager and no page in its title.
    const single = await readFile(path.join(siteDir, 'speakers/kofi-brandt/index.html'), 'utf8');
    expect(single).toMatch(/<title>Kofi Brandt — /);
    expect(single).not.toContain('rel="next"');
    expect(single).not.toContain('<nav class="pager');
    expect(existsSync(path.join(siteDir, 'speakers/kofi-brandt/page/2/index.html'))).toBe(false);
  });

  it('shows every quote and counterpoint of every speaker on exactly one of their pages, newest first, the totals on page 1', async () => {
    const expected = quotesBySpeaker(digests);
    expect(expected.get(SPEAKER)?.quotes.length).toBeGreaterThan(7);
    expect([...expected.values()].filter((e) => e.answers.length > 0).length).toBeGreaterThan(1);
    for (const [speaker, { quotes, answers }] of expected) {
      const pages = await listPages(siteDir, `speakers/${speaker}`);
      const shown = pages.map((html) => [...html.matchAll(/href="\/issues\/([^"]+)">In Issue/g)].map((m) => m[1]!));
      expect(shown.flat(), speaker).toEqual(quotes);
      const answered = pages.map((html) => [...html.matchAll(/Answering <a href="\/issues\/([^"]+)">/g)].map((m) => m[1]!));
      expect(answered.flat(), speaker).toEqual(answers);
      // Cut by issue: each issue (quoted in or answered in) on one page only, page 1 the newest remainder.
      const total = new Set([...quotes, ...answers].map((q) => q.split('/')[0])).size;
      const count = Math.max(1, Math.ceil(total / PER_PAGE));
      const onPage = pages.map((_, i) => new Set([...shown[i]!, ...answered[i]!].map((q) => q.split('/')[0])).size);
      expect(onPage, speaker).toEqual([total - (count - 1) * PER_PAGE, ...Array<number>(count - 1).fill(PER_PAGE)]);
    }
    const pages = await listPages(siteDir, `speakers/${SPEAKER}`);
    const { quotes, answers } = expected.get(SPEAKER)!;
    expect(pages[0]).toContain(`${quotes.length} quotes${answers.length ? ` and ${answers.length} counterpoint` : ''}`);
    expect(pages[0]).toMatch(/, newest first\. Page 1 of 3: February 13, 2017\.<\/p>/);
  });

  it('lists the pages in the sitemap and keeps issue pages linking to page 1', async () => {
    const sitemap = await readFile(path.join(siteDir, 'sitemap.xml'), 'utf8');
    for (const n of [1, 2, 3]) expect(sitemap).toContain(`<loc>https://example.github.io${href(n)}</loc>`);
    const issue = await readFile(path.join(siteDir, `issues/${digests[6]!.id}/index.html`), 'utf8');
    expect(issue).toContain(`<a href="/speakers/${SPEAKER}/">${NAME}</a>`);
    expect(issue).not.toContain(`/speakers/${SPEAKER}/page/`);
  });
});
