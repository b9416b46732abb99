/**
 * Theme and speaker pages in pages: a synthetic archive of 7 issues with 3 issues a page, so the theme every
 * issue has (generalization) and the speaker every issue quotes (Ilya Sutskever) take 3 pages: the entry page
 * `/themes/<id>/` holds the newest issue (7), and the full pages are numbered from the oldest: `page/1/` issues
 * 1–3, `page/2/` issues 4–6; `page/3/` is a redirect to the entry page until issue 10 fills it. Built for real
 * by Eleventy; then issues are added and removed to see what an incremental build rewrites.
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

/** Whether a page is the redirect written at the next page number (not a page of quotes). */
const isRedirect = (html: string): boolean => html.includes('<meta http-equiv="refresh"');

/**
 * The html of a theme's or speaker's pages (`themes/<id>`, `speakers/<id>`) in reading order, newest first: the
 * entry page, then the full pages from the highest number down (page/<n>/ read from 1 until one is missing or
 * is the redirect).
 */
async function listPages(dir: string, list: string): Promise<string[]> {
  const full: string[] = [];
  for (let n = 1; existsSync(path.join(dir, `${list}/page/${n}/index.html`)); n++) {
    const html = await readFile(path.join(dir, `${list}/page/${n}/index.html`), 'utf8');
    if (isRedirect(html)) break;
    full.push(html);
  }
  return [await readFile(path.join(dir, `${list}/index.html`), 'utf8'), ...full.reverse()];
}

/** Each full (numbered, not redirect) page file of the lists, site-relative, with its mtime and contents. */
async function fullPages(dir: string, lists: string[]): Promise<Map<string, { mtime: number; html: string }>> {
  const out = new Map<string, { mtime: number; html: string }>();
  for (const list of lists) {
    for (let n = 1; existsSync(path.join(dir, `${list}/page/${n}/index.html`)); n++) {
      const file = `${list}/page/${n}/index.html`;
      const html = await readFile(path.join(dir, file), 'utf8');
      if (!isRedirect(html)) out.set(file, { mtime: (await stat(path.join(dir, file))).mtimeMs, html });
    }
  }
  return out;
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
  const href = (n: number | null): string => (n === null ? `/themes/${THEME}/` : `/themes/${THEME}/page/${n}/`);

  it('writes /themes/<id>/ as the entry page, full pages numbered from the oldest, each titled with its issues and linked to its neighbours', async () => {
    const files = await listFiles(path.join(siteDir, `themes/${THEME}`), '.html');
    expect(files).toEqual(['index.html', 'page/1/index.html', 'page/2/index.html', 'page/3/index.html']);
    const pages = await listPages(siteDir, `themes/${THEME}`);
    // Reading order: entry, page 2, page 1. A full page's newer link is always the next number (page 2's is
    // page 3, the redirect to the entry page until it fills), so it never changes.
    const numbers = [null, 2, 1];
    const expected = [[['next', href(2)]], [['prev', href(3)], ['next', href(1)]], [['prev', href(2)]]];
    const titles = [`<title>Theme: ${TITLE} — `, `<title>Theme: ${TITLE}, issues 4–6 — `, `<title>Theme: ${TITLE}, issues 1–3 — `];
    const pager = [[null, 2, 1], [null, 3, 2, 1], [null, 2, 1]];
    pages.forEach((html, i) => {
      const n = numbers[i]!;
      expect(html, `page ${n}`).toContain(titles[i]);
      expect(html).toContain(`<link rel="canonical" href="https://example.github.io${href(n)}">`);
      expect(relLinks(html, 'link'), `page ${n}`).toEqual(expected[i]);
      expect(relLinks(html, 'a'), `page ${n}`).toEqual(expected[i]);
      // The pager, newest first: the entry page ("Newest"), then numbers down to 1, the current one marked.
      const shown = [...html.matchAll(/<li><a href="([^"]+)" aria-label="([^"]+)"( aria-current="page")?>([^<]+)<\/a><\/li>/g)];
      expect(shown.map((m) => m[1]), `page ${n}`).toEqual(pager[i]!.map(href));
      expect(shown.map((m) => m[4]), `page ${n}`).toEqual(pager[i]!.map((k) => (k === null ? 'Newest' : String(k))));
      expect(shown.filter((m) => m[3]).map((m) => m[1]), `page ${n}`).toEqual([href(n)]);
      expect(html.match(/<h1\b/g)).toHaveLength(1);
    });
    expect(pages[0]).not.toContain('Newer quotes');
    expect(pages[1]).toMatch(/>← Newer quotes<\/a>/);
    expect(pages[1]).toMatch(/>Older quotes →<\/a>/);
    expect(pages[2]).not.toContain('Older quotes');
    // The next number is a redirect to the entry page, kept out of search engines.
    const next = await readFile(path.join(siteDir, `themes/${THEME}/page/3/index.html`), 'utf8');
    expect(next).toContain(`<meta http-equiv="refresh" content="0; url=${href(null)}">`);
    expect(next).toContain('<meta name="robots" content="noindex">');
    expect(next).toContain(`<a href="${href(null)}">the theme’s main page</a>`);
    expect(issuesOn(next)).toEqual([]);
    // A theme that fits one page keeps its single page, with no pager, no page in its title and no redirect.
    const single = await readFile(path.join(siteDir, 'themes/evals-rl/index.html'), 'utf8');
    expect(single).toContain('<title>Theme: Evals, RL environments and reward hacking — ');
    expect(single).not.toContain('rel="next"');
    expect(existsSync(path.join(siteDir, 'themes/evals-rl/page/1/index.html'))).toBe(false);
  });

  it('lists the entry and full pages in the sitemap (not the redirect), keeps issue pages linking to the entry page, and has no broken link', async () => {
    const sitemap = await readFile(path.join(siteDir, 'sitemap.xml'), 'utf8');
    for (const p of ['', 'page/1/', 'page/2/']) expect(sitemap).toContain(`<loc>https://example.github.io/themes/${THEME}/${p}</loc>`);
    expect(sitemap).not.toContain(`/themes/${THEME}/page/3/`);
    const issue = await readFile(path.join(siteDir, `issues/${digests[6]!.id}/index.html`), 'utf8');
    expect(issue).toContain(`<a href="/themes/${THEME}/">${TITLE}</a>`);
    expect(issue).not.toContain(`/themes/${THEME}/page/`);
    expect(await findBrokenLinks(siteDir, '/')).toEqual([]);
  });

  it('shows every quote of every theme on exactly one of its pages, newest first, the totals on the entry page', async () => {
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
    expect(pages[0]).toContain(`${expected.get(THEME)!.length} quotes across 7 issues, newest first. Here issue 7, counted from the oldest: February 13, 2017.`);
    // The entry page holds the newest issue alone; the full pages three whole issues each.
    expect(pages.map(issuesOn)).toEqual([[digests[6]!.id], [5, 4, 3].map((i) => digests[i]!.id), [2, 1, 0].map((i) => digests[i]!.id)]);
    expect(pages[1]).not.toMatch(/quotes across/);
    // Issues 4 to 6, a week apart from January 2, 2017.
    expect(pages[1]).toContain('Page 2: issues 4–6, counted from the oldest: January 23, 2017 to February 6, 2017, newest first.');
  });

  it('never rewrites a full page when issues are added, even the one that fills a page; the incremental site is a full build, and pages that go are dropped', async () => {
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
    await build(inc, true);
    let before = await fullPages(inc, lists);
    expect([...before.keys()]).toEqual(lists.flatMap((l) => [`${l}/page/1/index.html`, `${l}/page/2/index.html`]));
    const entryTimes = async (): Promise<number[]> => Promise.all(lists.map(async (l) => (await stat(path.join(inc, l, 'index.html'))).mtimeMs));

    // Issues 8 and 9 join the entry page (full at 9); the 10th overflows it, so issues 7–9 become page 3 and the
    // entry page holds issue 10 alone. After each, every full page that existed is byte for byte the same file,
    // never rewritten (same mtime), and the site equals a full build's.
    const added: string[] = [];
    for (const n of [8, 9, 10]) {
      const entryBefore = await entryTimes();
      const [issue] = await writeSyntheticIssues(digestsDir, n, n);
      added.push(issue!.id);
      await build(inc, true);
      const after = await fullPages(inc, lists);
      for (const [file, page] of before) {
        expect(after.get(file)?.html, `${file} after issue ${n}`).toBe(page.html);
        expect(after.get(file)?.mtime, `${file} after issue ${n}`).toBe(page.mtime);
      }
      for (const [i, list] of lists.entries()) {
        expect(issuesOn(await readFile(path.join(inc, list, 'index.html'), 'utf8'))[0], list).toBe(issue!.id);
        expect((await entryTimes())[i], list).not.toBe(entryBefore[i]);
      }
      await expectSameSite(inc, await full());
      before = after;
    }
    // Issue 10 made page 3 a full page of issues 7–9 and page 4 the redirect.
    for (const list of lists) {
      expect(before.has(`${list}/page/3/index.html`), list).toBe(true);
      expect(issuesOn(before.get(`${list}/page/3/index.html`)!.html), list).toEqual([added[1], added[0], digests[6]!.id]);
      expect(isRedirect(await readFile(path.join(inc, `${list}/page/4/index.html`), 'utf8')), list).toBe(true);
    }

    // Removing issues 9 and 10 again: page 3 is a redirect once more, page 4 goes in an incremental build too,
    // and the site is as a full build's.
    for (const name of (await readdir(digestsDir)).filter((f) => /-(9|10)\.json$/.test(f))) await rm(path.join(digestsDir, name));
    await build(inc, true);
    for (const list of lists) {
      expect(existsSync(path.join(inc, `${list}/page/4/index.html`)), list).toBe(false);
      expect(isRedirect(await readFile(path.join(inc, `${list}/page/3/index.html`), 'utf8')), list).toBe(true);
    }
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
  const href = (n: number | null): string => (n === null ? `/speakers/${SPEAKER}/` : `/speakers/${SPEAKER}/page/${n}/`);

  it('writes /speakers/<id>/ as the entry page, then full pages numbered from the oldest, each titled with its issues and linked to its neighbours', async () => {
    expect(await listFiles(path.join(siteDir, `speakers/${SPEAKER}`), '.html')).toEqual(['index.html', 'page/1/index.html', 'page/2/index.html', 'page/3/index.html']);
    const pages = await listPages(siteDir, `speakers/${SPEAKER}`);
    const numbers = [null, 2, 1];
    const labels = ['', 'issues 4–6', 'issues 1–3'];
    const expected = [[['next', href(2)]], [['prev', href(3)], ['next', href(1)]], [['prev', href(2)]]];
    const pager = [[null, 2, 1], [null, 3, 2, 1], [null, 2, 1]];
    pages.forEach((html, i) => {
      const n = numbers[i]!;
      expect(html, `page ${n}`).toContain(labels[i] ? `<title>${NAME}, ${labels[i]} — ` : `<title>${NAME} — `);
      expect(html).toContain(`<meta name="description" content="Quotes by ${NAME}, `);
      if (labels[i]) expect(html).toContain(`(${labels[i]})">`);
      expect(html).toContain(`<link rel="canonical" href="https://example.github.io${href(n)}">`);
      expect(relLinks(html, 'link'), `page ${n}`).toEqual(expected[i]);
      expect(relLinks(html, 'a'), `page ${n}`).toEqual(expected[i]);
      expect(html).toContain(`<nav class="pager list-pager" aria-label="Pages of ${NAME}’s quotes">`);
      for (const k of pager[i]!) {
        const label = k === null ? 'Newest page' : `Page ${k}`;
        expect(html).toContain(`<a href="${href(k)}" aria-label="${label}"${k === n ? ' aria-current="page"' : ''}>${k ?? 'Newest'}</a>`);
      }
      expect(html.match(/<h1\b/g)).toHaveLength(1);
    });
    // The entry page holds the newest issue alone; the full pages three whole issues each.
    expect(pages.map(issuesOn)).toEqual([[digests[6]!.id], [5, 4, 3].map((i) => digests[i]!.id), [2, 1, 0].map((i) => digests[i]!.id)]);
    expect(pages[1]).toContain('Page 2: issues 4–6, counted from the oldest: January 23, 2017 to February 6, 2017, newest first.');
    expect(pages[1]).not.toMatch(/ quotes? and /);
    expect(isRedirect(await readFile(path.join(siteDir, `speakers/${SPEAKER}/page/3/index.html`), 'utf8'))).toBe(true);
    // A speaker on fewer issues than a page keeps one page, with no pager and no page in its title.
    const single = await readFile(path.join(siteDir, 'speakers/kofi-brandt/index.html'), 'utf8');
    expect(single).toMatch(/<title>Kofi Brandt — /);
    expect(single).not.toContain('rel="next"');
    expect(single).not.toContain('<nav class="pager');
    expect(existsSync(path.join(siteDir, 'speakers/kofi-brandt/page/1/index.html'))).toBe(false);
  });

  it('shows every quote and counterpoint of every speaker on exactly one of their pages, newest first, the totals on the entry page', async () => {
    const expected = quotesBySpeaker(digests);
    expect(expected.get(SPEAKER)?.quotes.length).toBeGreaterThan(7);
    expect([...expected.values()].filter((e) => e.answers.length > 0).length).toBeGreaterThan(1);
    for (const [speaker, { quotes, answers }] of expected) {
      const pages = await listPages(siteDir, `speakers/${speaker}`);
      const shown = pages.map((html) => [...html.matchAll(/href="\/issues\/([^"]+)">In Issue/g)].map((m) => m[1]!));
      expect(shown.flat(), speaker).toEqual(quotes);
      const answered = pages.map((html) => [...html.matchAll(/Answering <a href="\/issues\/([^"]+)">/g)].map((m) => m[1]!));
      expect(answered.flat(), speaker).toEqual(answers);
      // Cut by issue: each issue (quoted in or answered in) on one page only; the full pages hold PER_PAGE
      // issues each from the oldest, the entry page the newest 1 to PER_PAGE.
      const total = new Set([...quotes, ...answers].map((q) => q.split('/')[0])).size;
      const fullCount = Math.max(0, Math.floor((total - 1) / PER_PAGE));
      const onPage = pages.map((_, i) => new Set([...shown[i]!, ...answered[i]!].map((q) => q.split('/')[0])).size);
      expect(onPage, speaker).toEqual([total - fullCount * PER_PAGE, ...Array<number>(fullCount).fill(PER_PAGE)]);
    }
    const pages = await listPages(siteDir, `speakers/${SPEAKER}`);
    const { quotes, answers } = expected.get(SPEAKER)!;
    expect(pages[0]).toContain(`${quotes.length} quotes${answers.length ? ` and ${answers.length} counterpoint` : ''}`);
    expect(pages[0]).toMatch(/, newest first\. Here issue 7, counted from the oldest: February 13, 2017\.<\/p>/);
  });

  it('lists the entry and full pages in the sitemap and keeps issue pages linking to the entry page', async () => {
    const sitemap = await readFile(path.join(siteDir, 'sitemap.xml'), 'utf8');
    for (const n of [null, 1, 2]) expect(sitemap).toContain(`<loc>https://example.github.io${href(n)}</loc>`);
    expect(sitemap).not.toContain(`<loc>https://example.github.io${href(3)}</loc>`);
    const issue = await readFile(path.join(siteDir, `issues/${digests[6]!.id}/index.html`), 'utf8');
    expect(issue).toContain(`<a href="/speakers/${SPEAKER}/">${NAME}</a>`);
    expect(issue).not.toContain(`/speakers/${SPEAKER}/page/`);
  });
});
