import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config, FeedConfig } from '../../src/model.js';
import { closeParsePools, emptyLedger, gather, type FeedFetcher } from '../../src/gather/index.js';
import { parsePoolStats, startParsePool } from '../../src/gather/pool.js';
import { parseFeed } from '../../src/gather/feeds.js';
import { rss, testConfig } from './helpers.js';

/**
 * gather's output must not depend on which feed answers first or which thread parses it: items come out in
 * the configured feed order, and parsing in worker threads gives the same items as parsing inline.
 */
const NOW = new Date('2026-11-30T08:00:00Z');
const ago = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toUTCString();
const N = 12;

const feeds: FeedConfig[] = Array.from({ length: N }, (_, i) => ({ id: `f${i}`, url: `https://f${i}.example/feed.xml`, title: `f${i}`, stance: 'neutral', speakers: [], primary: false }));
const config = { feeds, gather: testConfig() } as unknown as Config;
const bodies = feeds.map((f, i) => rss(Array.from({ length: 5 }, (_, k) => ({
  title: `Feed ${i} post ${k}`,
  link: `https://f${i}.example/p/${k}`,
  date: ago(i + k),
  // Plain and attributed markup, so both sanitizer paths run in the workers too.
  description: k % 2 === 0 ? `<p>“Scaling is over,” feed ${i} post ${k} said.</p><p>More &amp; more.</p>` : `<p>Read <a href="/p/${k}" target="_blank">post ${k}</a> of feed ${i}.</p><img src="x.png" width="1">`,
}))));

/** Answers in an order set by `delays` (ms per feed), so completion order differs from config order. */
function fetcher(delays: number[]): FeedFetcher {
  return async (url) => {
    const i = feeds.findIndex((f) => f.url === url);
    await new Promise((r) => setTimeout(r, delays[i]));
    return { status: 'ok', body: bodies[i]!, finalUrl: url, etag: null, lastModified: null };
  };
}

const run = (delays: number[], parseWorkers: number) =>
  gather({ config, sourcesDir: mkdtempSync(path.join(tmpdir(), 'dd-pool-')), ledger: emptyLedger(), now: NOW, fetch: fetcher(delays), parseWorkers });

afterAll(() => closeParsePools());

describe('gather is deterministic whatever the completion order and parse thread', () => {
  it('gives the same items, in feed order, inline and in 2 worker threads, with feeds answering in reverse', async () => {
    const forward = feeds.map((_, i) => i * 3);
    const reverse = feeds.map((_, i) => (N - i) * 3);
    const inline = await run(forward, 0);
    expect(inline.gathered.items.map((i) => i.sourceId)).toEqual(feeds.flatMap((f) => Array(5).fill(f.id)));
    expect(inline.gathered.items[1]!.html).toContain('rel="noopener noreferrer"');
    const pooled = await run(reverse, 2);
    // Every feed really went through a worker (no silent fallback to this thread).
    expect(parsePoolStats).toEqual({ inWorker: N, fallback: 0 });
    expect(pooled).toEqual(inline);
    const inlineReversed = await run(reverse, 0);
    expect(inlineReversed).toEqual(inline);
  }, 30_000);
});

describe('parse pool', () => {
  it('a worker that dies mid-job costs nothing but time: the feed is parsed on the main thread instead', async () => {
    const pool = startParsePool(1);
    const before = parsePoolStats.fallback;
    const pending = pool.parse(bodies[0]!, 'https://f0.example/feed.xml', { maxItems: 100 });
    await pool.close();
    expect(await pending).toEqual(await parseFeed(bodies[0]!, 'https://f0.example/feed.xml', { maxItems: 100 }));
    expect(parsePoolStats.fallback).toBe(before + 1);
    // A pool whose workers are gone parses everything inline.
    expect((await pool.parse(bodies[1]!, 'https://f1.example/feed.xml', {})).items).toHaveLength(5);
    expect(parsePoolStats.fallback).toBe(before + 2);
  });
});
