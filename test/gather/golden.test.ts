import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBytes } from '../../src/gather/encoding.js';
import { parseFeed } from '../../src/gather/feeds.js';

/**
 * Golden files over rss-parser's real-feed corpus (shared/feeds/rss-parser). Each feed's summary is stored
 * in test/fixtures/feeds/golden/<file>.json; regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
const CORPUS = process.env.FEED_CORPUS ?? path.resolve(import.meta.dirname, '../../../shared/feeds/rss-parser');
const FALLBACK = '/work/shared/feeds/rss-parser';
const dir = existsSync(CORPUS) ? CORPUS : FALLBACK;
const GOLDEN = path.resolve(import.meta.dirname, '../fixtures/feeds/golden');
const HOSTILE = path.resolve(import.meta.dirname, '../fixtures/feeds/hostile');
const feedFiles = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => /\.(rss|atom|xml)$/.test(f)).sort() : []);
const files = feedFiles(dir);

async function summarize(dir: string, file: string) {
  const decoded = decodeBytes(readFileSync(path.join(dir, file)), null, 'xml');
  const parsed = await parseFeed(decoded.text, `https://feeds.example/${file}`, { maxItems: 1000 });
  return {
    file,
    encoding: decoded.encoding,
    fatal: parsed.fatal?.code ?? null,
    problems: parsed.problems.map((p) => p.code),
    feedTitle: parsed.title,
    count: parsed.items.length,
    titles: parsed.items.slice(0, 8).map((i) => i.title),
    first: parsed.items[0] ? { url: parsed.items[0].url, guid: parsed.items[0].guid, date: parsed.items[0].date, author: parsed.items[0].author, textStart: parsed.items[0].text.slice(0, 80) } : null,
    dateProblems: {
      missing: parsed.items.filter((i) => i.dateProblem === 'missing').length,
      invalid: parsed.items.filter((i) => i.dateProblem === 'invalid').length,
    },
    withoutUrl: parsed.items.filter((i) => i.url === null).length,
  };
}

async function checkGolden(got: unknown, goldenDir: string, file: string) {
  const goldenFile = path.join(goldenDir, `${file}.json`);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(goldenFile, JSON.stringify(got, null, 2) + '\n');
  }
  expect(got).toEqual(JSON.parse(readFileSync(goldenFile, 'utf8')));
}

describe('golden: our hostile fixtures (test/fixtures/feeds/hostile)', () => {
  it('finds them', () => {
    expect(feedFiles(HOSTILE).length).toBeGreaterThanOrEqual(8);
  });
  for (const file of feedFiles(HOSTILE)) {
    it(file, async () => {
      const got = await summarize(HOSTILE, file);
      const decoded = decodeBytes(readFileSync(path.join(HOSTILE, file)), null, 'xml');
      const parsed = await parseFeed(decoded.text, `https://feeds.example/${file}`);
      await checkGolden({ ...got, html: parsed.items.map((i) => i.html), urls: parsed.items.map((i) => i.url) }, path.join(GOLDEN, 'hostile'), file);
    });
  }
});

describe('golden: rss-parser corpus', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });
  for (const file of files) {
    it(file, async () => {
      const got = await summarize(dir, file);
      const goldenFile = path.join(GOLDEN, `${file}.json`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(goldenFile, JSON.stringify(got, null, 2) + '\n');
      }
      expect(got).toEqual(JSON.parse(readFileSync(goldenFile, 'utf8')));
      // Invariants that hold for every feed, golden or not.
      if (got.fatal === null) expect(got.count).toBeGreaterThan(0);
      else expect(got.count).toBe(0);
    });
  }
});
