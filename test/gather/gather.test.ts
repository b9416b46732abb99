import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config, FeedConfig } from '../../src/model.js';
import { emptyLedger, gather, markIssued, type FeedFetcher, type SeenLedger } from '../../src/gather/index.js';
import { rss, startServer, testConfig } from './helpers.js';

const NOW = new Date('2026-11-30T08:00:00Z');
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toUTCString();

function feed(id: string, url: string, over: Partial<FeedConfig> = {}): FeedConfig {
  return { id, url, title: id, stance: 'neutral', speakers: [], primary: false, ...over };
}

function config(feeds: FeedConfig[], gatherOver = {}): Config {
  // gather only reads `feeds` and `gather`; the rest of Config belongs to other stages.
  return { feeds, gather: testConfig(gatherOver) } as unknown as Config;
}

function emptyDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'dd-gather-'));
}

/** A fetcher serving fixed bodies per URL, for ledger logic without a network. */
function fakeFetcher(bodies: Record<string, string>): FeedFetcher {
  return async (url) => {
    const body = bodies[url];
    if (body === undefined) throw new Error(`no body for ${url}`);
    return { status: 'ok', body, finalUrl: url, etag: null, lastModified: null };
  };
}

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  srv = await startServer({
    '/a': (req, res) => res.writeHead(200, { etag: '"a1"' }).end(rss([
      { title: 'Sutskever: the age of research', link: 'https://a.example/research', date: ago(2) },
      { title: 'Scaling still works', link: 'https://a.example/scaling', date: ago(3) },
    ])),
    '/b': (req, res) => res.writeHead(200).end(rss([{ title: 'Marcus replies', link: 'https://b.example/marcus', date: ago(1) }])),
    '/down': (req, res) => res.writeHead(500).end(),
    // A feed whose generator mints new GUIDs on every request, and repeats one GUID within a response.
    '/changing': (() => {
      let n = 0;
      return (req: unknown, res: import('node:http').ServerResponse) => {
        n++;
        res.writeHead(200).end(rss([
          { title: 'Stable post', link: `https://c.example/stable?utm_campaign=run${n}`, guid: `urn:uuid:${n}-a`, date: ago(1) },
          { title: 'Linkless post', guid: `urn:uuid:${n}-b`, date: ago(1), description: 'A post with no link at all, whose words are its only identity across fetches.' },
          { title: 'Dup one', link: 'https://c.example/dup', guid: 'same-guid', date: ago(1) },
          { title: 'Dup two', link: 'https://c.example/dup', guid: 'same-guid', date: ago(1) },
        ]));
      };
    })(),
    '/slow/*': (req, res) => setTimeout(() => res.writeHead(200).end(rss([{ title: `Item ${req.url}`, link: `https://s.example${req.url}`, date: ago(1) }])), 40),
  });
});
afterAll(() => srv.close());

describe('gather', () => {
  it('one failing feed of three and one broken dropped file: the rest still gathers, both problems named', async () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'good.md'), '---\ntitle: Notes\nspeakers: [ilya-sutskever]\n---\nIlya: It is back to the age of research.\n');
    writeFileSync(path.join(dir, 'bad.md'), '---\ntitle: "unterminated\n---\nbody\n');
    const feeds = [feed('a', `${srv.base}/a`), feed('down', `http://user:pw@127.0.0.1:${srv.port}/down`), feed('b', `${srv.base}/b`)];
    const { gathered, ledger } = await gather({ config: config(feeds), sourcesDir: dir, ledger: emptyLedger(), now: NOW });
    expect(gathered.items.map((i) => i.title).sort()).toEqual(['Marcus replies', 'Notes', 'Scaling still works', 'Sutskever: the age of research']);
    const codes = gathered.problems.map((p) => `${p.code} ${p.origin}`);
    expect(codes).toContain(`FEED_HTTP_STATUS http://127.0.0.1:${srv.port}/down`);
    expect(codes.some((c) => /^FRONT_MATTER_INVALID bad\.md:\d+$/.test(c))).toBe(true);
    expect(JSON.stringify(gathered)).not.toContain('pw@');
    const down = gathered.health.find((h) => h.sourceId === 'down')!;
    expect(down).toMatchObject({ status: 'failed', consecutiveFailures: 1, lastSuccess: null });
    expect(gathered.health.find((h) => h.sourceId === 'a')).toMatchObject({ status: 'new', newItems: 2, totalItems: 2 });
    expect(gathered.health.find((h) => h.sourceId === 'bad.md')).toMatchObject({ status: 'failed' });
    expect(ledger.feeds.a).toMatchObject({ etag: '"a1"', consecutiveFailures: 0, lastSuccess: NOW.toISOString() });
    expect(ledger.feeds.down!.consecutiveFailures).toBe(1);
  });

  it('counts consecutive failures without clearing earlier state, and flags a source failing too long', async () => {
    let ledger: SeenLedger = emptyLedger();
    ledger.feeds.down = { etag: '"old"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT', lastSuccess: '2024-01-01T00:00:00.000Z', consecutiveFailures: 0, lastError: null };
    const cfg = config([feed('down', `${srv.base}/down`)], { failingAfterRuns: 3 });
    let problems: string[] = [];
    for (let run = 1; run <= 3; run++) {
      const r = await gather({ config: cfg, sourcesDir: emptyDir(), ledger, now: NOW });
      ledger = r.ledger;
      problems = r.gathered.problems.map((p) => p.code);
    }
    expect(ledger.feeds.down).toMatchObject({ etag: '"old"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT', lastSuccess: '2024-01-01T00:00:00.000Z', consecutiveFailures: 3 });
    expect(ledger.feeds.down!.lastError).toMatch(/FEED_HTTP_STATUS/);
    expect(problems).toEqual(['FEED_HTTP_STATUS', 'SOURCE_FAILING']);
  });

  it('does not resurface items whose GUIDs were regenerated or whose links gained tracking parameters', async () => {
    const url = 'https://feed.example/rss';
    const v1 = rss([
      { title: 'One', link: 'https://x.example/one', guid: 'g-1', date: ago(1) },
      { title: 'Two', link: 'https://x.example/two/', guid: 'g-2', date: ago(1) },
      { title: 'No link', guid: 'g-3', date: ago(1), description: 'An item without a link whose text is long enough to be recognized by its hash.' },
    ]);
    const cfg = config([feed('f', url)]);
    const r1 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ [url]: v1 }) });
    expect(r1.gathered.items).toHaveLength(3);
    const issued = markIssued(r1.ledger, r1.gathered.items, '2026-11-30-1');
    expect(Object.values(issued.entries).every((e) => e.issueId === '2026-11-30-1')).toBe(true);
    expect(Object.values(r1.ledger.entries).every((e) => e.issueId === null)).toBe(true); // markIssued is pure

    const v2 = rss([
      { title: 'One', link: 'https://X.example/one?utm_source=rss&utm_medium=feed#comments', guid: 'regenerated-1', date: ago(1) },
      { title: 'Two', link: 'https://x.example/two?fbclid=abc&ref=hn', guid: 'regenerated-2', date: ago(1) },
      { title: 'No link', guid: 'regenerated-3', date: ago(1), description: 'An item without a link whose text is long enough to be recognized by its hash.' },
      { title: 'One, edited', link: 'https://x.example/one', guid: 'g-1', date: ago(1), description: 'Now with different text.' },
      { title: 'Three', link: 'https://x.example/three', guid: 'g-4', date: ago(0) },
    ]);
    const r2 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: issued, now: NOW, fetch: fakeFetcher({ [url]: v2 }) });
    expect(r2.gathered.items.map((i) => i.title)).toEqual(['Three']);
    expect(r2.gathered.known.map((i) => i.title).sort()).toEqual(['No link', 'One', 'Two']);
    // The known items keep the ids they were issued under.
    const ids1 = new Set(r1.gathered.items.map((i) => i.id));
    expect(r2.gathered.known.every((i) => ids1.has(i.id))).toBe(true);
  });

  it('over HTTP: GUIDs that change between fetches and duplicate GUIDs in one feed do not make new items', async () => {
    const cfg = config([feed('c', `${srv.base}/changing`)]);
    const r1 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW });
    expect(r1.gathered.items.map((i) => i.title)).toEqual(['Stable post', 'Linkless post', 'Dup one']);
    const r2 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: markIssued(r1.ledger, r1.gathered.items, 'i1'), now: NOW });
    expect(r2.gathered.items).toEqual([]);
    expect(r2.gathered.known.map((i) => i.id)).toEqual(r1.gathered.items.map((i) => i.id));
    expect(r2.gathered.health[0]).toMatchObject({ sourceId: 'c', status: 'unchanged', newItems: 0 });
  });

  it('an item seen but never issued is still new next time', async () => {
    const url = 'https://feed.example/rss';
    const body = rss([{ title: 'Pending', link: 'https://x.example/p', date: ago(1) }]);
    const cfg = config([feed('f', url)]);
    const r1 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ [url]: body }) });
    const r2 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: r1.ledger, now: NOW, fetch: fakeFetcher({ [url]: body }) });
    expect(r2.gathered.items.map((i) => i.id)).toEqual(r1.gathered.items.map((i) => i.id));
  });

  it('first run backfills only gather.backfillDays; undated items are kept and flagged; old ones never resurface', async () => {
    const url = 'https://feed.example/rss';
    const body = rss([
      { title: 'Recent', link: 'https://x.example/recent', date: ago(5) },
      { title: 'Old', link: 'https://x.example/old', date: ago(45) },
      { title: 'Undated', link: 'https://x.example/undated' },
      { title: 'Bad date', link: 'https://x.example/bad', date: 'the day after tomorrow' },
    ]);
    const cfg = config([feed('f', url)], { backfillDays: 30 });
    const r1 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ [url]: body }) });
    expect(r1.gathered.items.map((i) => [i.title, i.dateProblem])).toEqual([['Recent', null], ['Undated', 'missing'], ['Bad date', 'invalid']]);
    expect(r1.gathered.problems.map((p) => p.code)).toEqual(['FEED_DATE_INVALID']);
    const r2 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: markIssued(r1.ledger, r1.gathered.items, 'i1'), now: NOW, fetch: fakeFetcher({ [url]: body }) });
    expect(r2.gathered.items).toEqual([]);
  });

  it('collapses the same post syndicated by two feeds into one item with both links', async () => {
    const text = 'Ilya Sutskever said we are moving from the age of scaling to the age of research.';
    const a = rss([{ title: 'Age of research', link: 'https://a.example/post', date: ago(1), description: text }]);
    const b = rss([{ title: 'Age of research', link: 'https://b.example/syndicated', date: ago(1), description: `  ${text}\n` }]);
    const cfg = config([feed('a', 'https://a.example/rss'), feed('b', 'https://b.example/rss')]);
    const r = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ 'https://a.example/rss': a, 'https://b.example/rss': b }) });
    expect(r.gathered.items).toHaveLength(1);
    expect(r.gathered.items[0]!.links).toEqual(['https://a.example/post', 'https://b.example/syndicated']);
  });

  it('collapses duplicate GUIDs within one feed', async () => {
    const body = rss([
      { title: 'Same', guid: 'dup', date: ago(1), description: 'first copy of the text, which is long enough to hash' },
      { title: 'Same again', guid: 'dup', date: ago(1), description: 'second copy of the text, which is long enough to hash' },
    ]);
    const cfg = config([feed('f', 'https://f.example/rss')]);
    const r = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ 'https://f.example/rss': body }) });
    expect(r.gathered.items.map((i) => i.title)).toEqual(['Same']);
  });

  it('never hands on two items with one id, even when two links share a GUID the ledger knows', async () => {
    const url = 'https://f.example/rss';
    const cfg = config([feed('f', url)]);
    const v1 = rss([{ title: 'Original', link: 'https://x.example/1', guid: 'shared', date: ago(1) }]);
    const r1 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: fakeFetcher({ [url]: v1 }) });
    const v2 = rss([
      { title: 'Moved', link: 'https://x.example/moved', guid: 'shared', date: ago(1), description: 'moved copy with a body long enough to hash on its own' },
      { title: 'Mirror', link: 'https://mirror.example/1', guid: 'shared', date: ago(1), description: 'mirror copy with a different body long enough to hash' },
    ]);
    const r2 = await gather({ config: cfg, sourcesDir: emptyDir(), ledger: markIssued(r1.ledger, r1.gathered.items, 'i1'), now: NOW, fetch: fakeFetcher({ [url]: v2 }) });
    const all = [...r2.gathered.items, ...r2.gathered.known];
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length);
    expect(r2.gathered.known).toHaveLength(1);
    expect(r2.gathered.known[0]!.links).toEqual(['https://x.example/moved', 'https://mirror.example/1']);
  });

  it('a 304 keeps the feed unchanged and its ETag', async () => {
    const fetcher: FeedFetcher = async (u, cond) => ({ status: 'not-modified', body: '', finalUrl: u, etag: cond.etag, lastModified: cond.lastModified });
    const ledger = emptyLedger();
    ledger.feeds.f = { etag: '"e"', lastModified: null, lastSuccess: '2026-11-01T00:00:00.000Z', consecutiveFailures: 2, lastError: 'x' };
    const r = await gather({ config: config([feed('f', 'https://f.example/rss')]), sourcesDir: emptyDir(), ledger, now: NOW, fetch: fetcher });
    expect(r.gathered.health[0]).toMatchObject({ status: 'unchanged', newItems: 0, consecutiveFailures: 0 });
    expect(r.ledger.feeds.f).toMatchObject({ etag: '"e"', lastSuccess: NOW.toISOString(), consecutiveFailures: 0, lastError: null });
  });

  it('fetches many feeds concurrently within the per-host limit', async () => {
    const feeds = Array.from({ length: 12 }, (_, i) => feed(`s${i}`, `${srv.base}/slow/${i}`));
    srv.stats.maxInFlight = 0;
    const r = await gather({ config: config(feeds, { perHostConcurrency: 3 }), sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW });
    expect(r.gathered.items).toHaveLength(12);
    expect(srv.stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(srv.stats.maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('gives the same items, in configured feed order, whichever feed answers first', async () => {
    const feeds = Array.from({ length: 6 }, (_, i) => feed(`o${i}`, `https://o${i}.example/feed.xml`));
    const bodies = feeds.map((f, i) => rss([0, 1].map((k) => ({ title: `Feed ${i} post ${k}`, link: `https://o${i}.example/p/${k}`, date: ago(i + k) }))));
    // Each feed answers after delays[i] ms, so the completion order is the one the delays set.
    const answering = (delays: number[]): FeedFetcher => async (url) => {
      const i = feeds.findIndex((f) => f.url === url);
      await new Promise((r) => setTimeout(r, delays[i]));
      return { status: 'ok', body: bodies[i]!, finalUrl: url, etag: null, lastModified: null };
    };
    const run = (delays: number[]) => gather({ config: config(feeds), sourcesDir: emptyDir(), ledger: emptyLedger(), now: NOW, fetch: answering(delays) });
    const forward = await run(feeds.map((_, i) => i * 3));
    expect(forward.gathered.items.map((i) => i.sourceId)).toEqual(feeds.flatMap((f) => [f.id, f.id]));
    expect(await run(feeds.map((_, i) => (feeds.length - i) * 3))).toEqual(forward);
  });
});
