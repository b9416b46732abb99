/**
 * Regression: the email's heading said "30 November 2026" (helpers' own luxon pattern) while its subject and
 * the web archive said "November 30, 2026" (compose's DATE_FULL, archive's Intl). One issue, one date string,
 * wherever a reader sees it. Machine dates (<time datetime>, feed timestamps) are not what this checks.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeDigest, formatIssueDate } from '../../src/compose/digest.js';
import type { Analysis, Config, Digest, Quote, RenderedEmail, SourceItem } from '../../src/model.js';
import { buildSite, formatDate as archiveDate, issueTitle } from '../../src/render/archive.js';
import { renderEmail } from '../../src/render/email.js';
import { shortIssueDate } from '../../src/render/helpers.js';
import { testConfig } from '../archive/support.js';

// Words from seed 000, so no one is quoted saying what they did not say.
const text = 'He said: “So it’s back to the age of research again, just with big computers.”';
const start = text.indexOf('So it’s');
const end = text.indexOf('computers') + 'computers'.length;
const item: SourceItem = {
  id: 'item1', kind: 'file', sourceId: 'note.md', origin: 'sources/note.md', url: 'https://example.org/note', links: [],
  guid: null, title: 'A note', author: null, date: null, dateProblem: 'missing', speakers: [], stance: null, primary: false,
  text, html: null, contentHash: 'h',
};
const quote: Quote = {
  id: 'qa', text: text.slice(start, end), speaker: 'ilya-sutskever', attribution: { method: 'verb-pronoun', confidence: 0.7 },
  source: item.origin, itemId: item.id, url: item.url, start, end, kind: 'direct', themes: ['scaling-era'], stance: 'research',
  status: 'single-source', citations: [{ itemId: item.id, source: item.origin, url: item.url, title: item.title, start, end }], score: 1,
};

// Noon UTC on 30 November is already 1 December in Auckland: the issue is dated in the configured zone.
const EXPECTED = 'December 1, 2026';
let config: Config;
let digest: Digest;
let email: RenderedEmail;
let page: string;
let atom: string;

beforeAll(async () => {
  config = await testConfig({ basePath: '/', language: 'en', timeZone: 'Pacific/Auckland' });
  const analysis: Analysis = { quotes: [quote], counterpoints: [], tokens: 12 };
  digest = composeDigest({ analysis, selected: [quote], items: [item], config, number: 1, now: new Date('2026-11-30T12:00:00Z') });
  email = await renderEmail(digest, config, { webUrl: `https://example.github.io/issues/${digest.id}/`, archiveUrl: 'https://example.github.io/' });
  const digestsDir = await mkdtemp(path.join(os.tmpdir(), 'dates-digests-'));
  const siteDir = await mkdtemp(path.join(os.tmpdir(), 'dates-site-'));
  await writeFile(path.join(digestsDir, `${digest.id}.json`), JSON.stringify(digest));
  await buildSite({ digestsDir, siteDir, config, quiet: true, skipSearchIndex: true });
  page = await readFile(path.join(siteDir, 'issues', digest.id, 'index.html'), 'utf8');
  atom = await readFile(path.join(siteDir, 'feed.xml'), 'utf8');
});

describe('one date form for an issue everywhere a reader sees it', () => {
  it('email heading, subject, plain-text part, archive page and feed show the same date string', () => {
    expect(digest.date).toBe('2026-12-01');
    const heading = /Issue #1 · ([^<·]+?) ·/.exec(email.html)?.[1];
    const textLine = /^Issue #1 · (.+)$/m.exec(email.text)?.[1];
    const kicker = /<time datetime="2026-12-01">([^<]+)<\/time>/.exec(page)?.[1];
    const pageTitle = /<title>Issue 1 · ([^:<]+)[:<]/.exec(page)?.[1];
    const feedTitle = /<title[^>]*>Issue 1 · ([^:<]+)[:<]/.exec(atom)?.[1];
    expect({ heading, textLine, kicker, pageTitle, feedTitle }).toEqual({
      heading: EXPECTED, textLine: EXPECTED, kicker: EXPECTED, pageTitle: EXPECTED, feedTitle: EXPECTED,
    });
    expect(email.subject).toContain(`(${EXPECTED})`);
    // The old heading form must be gone, not merely joined by the new one.
    expect(email.html + email.text + page).not.toContain('1 December 2026');
  });
});

describe('formatIssueDate: the single formatter', () => {
  it.each([
    ['2026-11-30', 'UTC', 'en', 'November 30, 2026'],
    ['2026-11-30', 'Pacific/Auckland', 'en', 'November 30, 2026'], // a calendar date is never shifted
    ['2026-11-30', 'UTC', 'de', '30. November 2026'],
    ['2026-11-30', 'UTC', 'fr', '30 novembre 2026'],
    ['2026-11-30T23:30:00Z', 'Europe/Paris', 'en', 'December 1, 2026'],
    ['2026-11-30T23:30:00Z', 'America/New_York', 'en', 'November 30, 2026'],
    ['2026-11-30T23:30:00', 'Europe/Paris', 'en', 'November 30, 2026'], // no offset: wall time in the zone
    ['2026-11-30', 'UTC', 'en_US', 'November 30, 2026'], // malformed language tag: English, not an exception
    ['2026-02-30', 'UTC', 'en', ''],
    ['not a date', 'UTC', 'en', ''],
  ])('%s in %s (%s) → %j', (iso, zone, lang, out) => {
    expect(formatIssueDate(iso, zone, lang)).toBe(out);
  });

  it('is what the archive writes, in the configured language', () => {
    for (const lang of ['en', 'de', 'ja']) {
      const one = formatIssueDate('2026-11-30', 'UTC', lang);
      expect(archiveDate('2026-11-30', lang)).toBe(one);
      expect(issueTitle({ number: 3, date: '2026-11-30', title: '' }, lang)).toBe(`Issue 3 · ${one}`);
    }
  });
});

describe('shortIssueDate: the short form older subjects carry, which emailSubject recognises', () => {
  it.each([
    ['2026-11-30', 'Pacific/Auckland', '30 Nov 2026'], // a calendar date is never shifted
    ['2026-11-30T23:30:00Z', 'Europe/Paris', '1 Dec 2026'],
    ['2026-11-30T23:30:00Z', 'America/New_York', '30 Nov 2026'],
    ['2026-02-30', 'UTC', ''],
    ['not a date', 'UTC', ''],
  ])('%s in %s → %j', (iso, zone, out) => {
    expect(shortIssueDate(iso, zone)).toBe(out);
  });
});
