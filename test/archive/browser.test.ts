/**
 * The archive as a reader meets it: built under the base path /debate-digest/, served by a static server on
 * 127.0.0.1, and used in headless Chromium (one launch for the file): navigation, anchors, search, layout at
 * phone and desktop widths, axe-core, no third-party requests, no live script from a hostile record.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { axeSeriousViolations, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite } from '../../src/render/archive.js';
import { ARTIFACTS, findBrokenLinks, ROOT, serveSite, tempDigests, tempDir, testConfig, writeSyntheticIssues } from './support.js';

const BASE = '/debate-digest/';
let browser: Browser;
let context: BrowserContext;
let server: Awaited<ReturnType<typeof serveSite>>;
/** A second archive, 7 issues at 3 issues a theme or speaker page, for the pagers (same browser). */
let paged: Awaited<ReturnType<typeof serveSite>>;
let pagedSite: string;
let siteDir: string;
const requests: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  const config = await testConfig({ basePath: BASE, subscribeUrl: 'https://subscribe.example.org/subscribe' });
  siteDir = await tempDir('archive-browser-');
  await buildSite({ digestsDir: await tempDigests(), siteDir, config, quiet: true });
  server = await serveSite(siteDir, BASE);
  const pagedDigests = await tempDir('archive-browser-paged-digests-');
  await writeSyntheticIssues(pagedDigests, 1, 7);
  pagedSite = await tempDir('archive-browser-paged-');
  await buildSite({ digestsDir: pagedDigests, siteDir: pagedSite, config, quiet: true, skipSearchIndex: true, pageIssues: 3 });
  paged = await serveSite(pagedSite, BASE);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on('request', (r) => requests.push(r.url()));
  context.on('page', (p) => p.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); }));
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await paged?.close();
});

async function open(p: string): Promise<Page> {
  const page = await context.newPage();
  const res = await page.goto(server.base + p);
  expect(res?.status(), p).toBe(200);
  return page;
}


describe('the archive in a browser, under a base path', () => {
  it('goes from home to an issue, to a quote’s anchor, to its theme page and back', async () => {
    const page = await open('');
    await expect(page.title()).resolves.toContain('Debate Digest');
    await page.getByRole('link', { name: /^Issue 1 · .*Back to the age of research$/ }).click();
    await page.waitForURL(`${server.base}issues/2026-11-19-1/`);
    expect(await page.locator('h1').innerText()).toMatch(/^Issue 1 · November 19, 2026: Back to the age of research$/);

    const quote = page.locator('article.quote', { has: page.locator('#q-a1b2c3d4e5f6') });
    await quote.getByRole('link', { name: 'Link to this quote' }).click();
    await page.waitForURL(`${server.base}issues/2026-11-19-1/#q-a1b2c3d4e5f6`);
    expect(await page.locator(':target').getAttribute('id')).toBe('q-a1b2c3d4e5f6');
    await expect(page.locator('#q-a1b2c3d4e5f6').isVisible()).resolves.toBe(true);

    await quote.getByRole('link', { name: 'The end of the scaling era' }).click();
    await page.waitForURL(`${server.base}themes/scaling-era/`);
    expect(await page.locator('h1').innerText()).toContain('The end of the scaling era');
    expect(await page.locator('main').innerText()).toContain('So it’s back to the age of research again, just with big computers');
    // From the theme page, a quote's issue link lands on its anchor in the issue.
    await page.locator('a[href$="#q-1c2d3e4f5a6b"]').first().click();
    await page.waitForURL(`${server.base}issues/2026-11-30-3/#q-1c2d3e4f5a6b`);

    await page.goBack();
    await page.waitForURL(`${server.base}themes/scaling-era/`);
    await page.goBack();
    await page.waitForURL(`${server.base}issues/2026-11-19-1/#q-a1b2c3d4e5f6`);
    await page.close();
  });

  it('searches for a speaker’s word and lands on the quote', async () => {
    const page = await open('search/');
    await page.getByLabel('Words to find').fill('dramatically');
    await page.getByRole('button', { name: 'Search' }).click();
    const first = page.locator('#search-results a').first();
    await first.waitFor({ timeout: 15_000 });
    expect(await page.locator('#search-status').innerText()).toMatch(/result/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'site-search-1280.png') });
    await first.click();
    await page.waitForURL(/\/debate-digest\/issues\/2026-11-19-1\/#q-c3d4e5f6a1b2$/);
    const target = page.locator('#q-c3d4e5f6a1b2');
    await expect(target.isVisible()).resolves.toBe(true);
    const box = await target.boundingBox();
    expect(box && box.y >= 0 && box.y < 900).toBe(true);
    // The search page also answers a ?q= link (what the form submits without our script's help).
    await page.goto(`${server.base}search/?q=single-minded`);
    await page.locator('#search-results a[href*="#q-e5f6a1b2c3d4"]').first().waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('reads without JavaScript, at 375 px and 1280 px (screenshots in test-artifacts/)', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 375, height: 812 } });
    const page = await noJs.newPage();
    await page.goto(`${server.base}issues/2026-11-24-2/`);
    expect(await page.locator('main').innerText()).toContain('I think the models seem smarter than their economic impact would imply.');
    // Nothing wider than the phone screen: no sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(ARTIFACTS, 'site-issue-375.png'), fullPage: true });
    await page.goto(server.base);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(ARTIFACTS, 'site-home-375.png'), fullPage: true });
    await noJs.close();
    const wide = await open('');
    await wide.screenshot({ path: path.join(ARTIFACTS, 'site-home-1280.png') });
    await wide.goto(`${server.base}issues/2026-11-30-3/`);
    await wide.screenshot({ path: path.join(ARTIFACTS, 'site-issue-1280.png') });
    await wide.emulateMedia({ colorScheme: 'dark' });
    await wide.screenshot({ path: path.join(ARTIFACTS, 'site-issue-1280-dark.png') });
    const bg = await wide.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).not.toBe('rgb(253, 253, 251)');
    await wide.close();
  });

  it('has no serious or critical axe violations on home, issue, theme and subscribe pages, light and dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      for (const p of ['', 'issues/2026-11-30-3/', 'themes/generalization/', 'subscribe/']) {
        const page = await open(p);
        await page.emulateMedia({ colorScheme: scheme });
        expect(await axeSeriousViolations(page), `${scheme} ${p || 'home'}`).toEqual([]);
        await page.close();
      }
    }
  });

  it('pages through a long theme by older/newer links and page numbers; page 2 passes axe, light and dark; the next number redirects to the entry page', async () => {
    const page = await context.newPage();
    const theme = `${paged.base}themes/generalization/`;
    await page.goto(theme);
    expect(await page.title()).toMatch(/^Theme: Generalization and sample efficiency — /);
    const pager = page.getByRole('navigation', { name: 'Pages of this theme' });
    await expect(pager.getByRole('link', { name: 'Newest page', exact: true }).getAttribute('aria-current')).resolves.toBe('page');
    // Full pages are numbered from the oldest: the entry page's older neighbour is the highest number, page 2.
    await pager.getByRole('link', { name: /Older quotes/ }).click();
    await page.waitForURL(`${theme}page/2/`);
    expect(await page.title()).toMatch(/, issues 4–6 — /);
    await expect(pager.getByRole('link', { name: 'Page 2', exact: true }).getAttribute('aria-current')).resolves.toBe('page');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await axeSeriousViolations(page), `${scheme} theme page 2`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await pager.getByRole('link', { name: 'Page 1', exact: true }).click();
    await page.waitForURL(`${theme}page/1/`);
    await expect(pager.getByRole('link', { name: /Older quotes/ }).count()).resolves.toBe(0);
    // The oldest issue is on page 1, and its quotes link to their issue.
    await page.locator('main a[href$="/issues/2017-01-02-1/"]').first().waitFor();
    await pager.getByRole('link', { name: /Newer quotes/ }).click();
    await page.waitForURL(`${theme}page/2/`);
    // Page 2's newer neighbour is page 3, not full yet: its URL sends the reader on to the entry page.
    await pager.getByRole('link', { name: /Newer quotes/ }).click();
    await page.waitForURL(theme);
    await page.locator('main a[href$="/issues/2017-02-13-7/"]').first().waitFor();
    // A phone-width reader gets the pager without sideways scrolling.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${theme}page/2/`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await pager.screenshot({ path: path.join(ARTIFACTS, 'site-theme-pager-375.png') });
    await page.close();
    expect(await findBrokenLinks(pagedSite, BASE)).toEqual([]);
  });

  it('pages through a speaker’s quotes from an issue’s speaker link; page 2 passes axe, light and dark', async () => {
    const page = await context.newPage();
    await page.goto(`${paged.base}issues/2017-02-13-7/`);
    await page.locator('main a[href$="/speakers/ilya-sutskever/"]').first().click();
    const speaker = `${paged.base}speakers/ilya-sutskever/`;
    await page.waitForURL(speaker);
    expect(await page.title()).toMatch(/^Ilya Sutskever — /);
    const pager = page.getByRole('navigation', { name: 'Pages of Ilya Sutskever’s quotes' });
    await pager.getByRole('link', { name: 'Page 2', exact: true }).click();
    await page.waitForURL(`${speaker}page/2/`);
    expect(await page.title()).toMatch(/^Ilya Sutskever, issues 4–6 — /);
    await expect(pager.getByRole('link', { name: 'Page 2', exact: true }).getAttribute('aria-current')).resolves.toBe('page');
    expect(await page.locator('link[rel="prev"]').getAttribute('href')).toBe('/debate-digest/speakers/ilya-sutskever/page/3/');
    expect(await page.locator('link[rel="next"]').getAttribute('href')).toBe('/debate-digest/speakers/ilya-sutskever/page/1/');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await axeSeriousViolations(page), `${scheme} speaker page 2`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await pager.getByRole('link', { name: /Older quotes/ }).click();
    await page.waitForURL(`${speaker}page/1/`);
    await page.locator('main a[href$="/issues/2017-01-02-1/"]').first().waitFor();
    await page.setViewportSize({ width: 375, height: 812 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await pager.getByRole('link', { name: 'Newest page', exact: true }).click();
    await page.waitForURL(speaker);
    await page.close();
  });

  it('subscribe page posts to the configured subscription service and lists the feeds', async () => {
    const page = await open('subscribe/');
    expect(await page.locator('form.subscribe-form').getAttribute('action')).toBe('https://subscribe.example.org/subscribe');
    expect(await page.locator('form.subscribe-form').getAttribute('method')).toBe('post');
    expect(await page.locator('main').innerText()).toContain('https://example.github.io/debate-digest/feed.xml');
    const feeds = await page.locator('link[rel="alternate"]').evaluateAll((ls) => ls.map((l) => (l as HTMLLinkElement).href));
    expect(feeds).toEqual([`${server.base}feed.xml`, `${server.base}feed.json`]);
    const atom = await page.request.get(feeds[0]!);
    expect(atom.status()).toBe(200);
    await page.close();
  });

  it('runs no script from the hostile record and links nowhere but http(s)', async () => {
    const page = await open('issues/2026-11-30-3/');
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);
    const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).protocol));
    expect(hrefs.every((p) => p === 'http:' || p === 'https:')).toBe(true);
    expect(await page.locator('main').innerText()).toContain('Scaling is over </blockquote><script>alert("quote")</script><a href="javascript:alert(1)">click</a> & that\'s that.');
    await page.close();
    expect(dialogs).toEqual([]);
  });

  it('a missing page gets the 404 page, whose links work under the base path', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${server.base}issues/1999-01-01-9/`);
    expect(res?.status()).toBe(404);
    await page.getByRole('link', { name: 'the latest issue' }).click();
    await page.waitForURL(server.base);
    await page.close();
  });

  it('made no request outside the site, and every internal link resolves under the base path', async () => {
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith(paged.origin))).toEqual([]);
    expect(await findBrokenLinks(siteDir, BASE)).toEqual([]);
    const home = await readFile(path.join(siteDir, 'index.html'), 'utf8');
    expect(home).toContain(`href="${BASE}issues/2026-11-30-3/"`);
  });
});
