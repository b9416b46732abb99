import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { NFKC_STABLE, sha256, canonicalUrl, contentHashOf, emptyLedger, isHashable, itemIdOf, ledgerKeyOf, normalizeForHash, readSeenLedger, writeSeenLedger, type SeenLedger } from '../../src/gather/ledger.js';
import { gather, markIssued, type FeedFetcher } from '../../src/gather/index.js';
import type { Config } from '../../src/model.js';
import { parseFeed } from '../../src/gather/feeds.js';
import { htmlToText } from '../../src/gather/sanitize.js';
import { makeFeeds, rng } from '../../scripts/bench/workload.js';
import { rss, testConfig } from './helpers.js';

describe('canonicalUrl', () => {
  it.each([
    ['https://Example.ORG/Post/?utm_source=x&utm_medium=y#frag', 'https://example.org/Post'],
    ['https://example.org/post?fbclid=1&gclid=2&ref=hn&b=2&a=1', 'https://example.org/post?a=1&b=2'],
    ['https://user:pw@example.org:443/', 'https://example.org'],
    ['http://example.org:8080/a//', 'http://example.org:8080/a'],
    ['  https://example.org/p  ', 'https://example.org/p'],
    ['javascript:alert(1)', null],
    ['not a url', null],
    // A bare '#' or '?' reads as '' through URL but is still part of it (regression: the canonical form kept it).
    ['https://example.org/p#', 'https://example.org/p'],
    ['https://example.org/p?', 'https://example.org/p'],
    ['https://example.org/?#', 'https://example.org'],
  ])('%s → %s', (raw, expected) => {
    expect(canonicalUrl(raw)).toBe(expected);
  });
});

describe('normalizeForHash', () => {
  it('skips NFKC only for texts NFKC would not change (checked over every character and pair in the set)', () => {
    const set: string[] = [];
    for (let c = 0; c <= 0x2100; c++) if (NFKC_STABLE.test(String.fromCharCode(c))) set.push(String.fromCharCode(c));
    expect(set.length).toBeGreaterThan(190);
    for (const a of set) {
      expect(a.normalize('NFKC'), `U+${a.charCodeAt(0).toString(16)}`).toBe(a);
      for (const b of set) if ((a + b).normalize('NFKC') !== a + b) expect.fail(`pair U+${a.charCodeAt(0).toString(16)} U+${b.charCodeAt(0).toString(16)}`);
    }
    // Outside the set NFKC still applies: a ligature, a non-breaking space, a combining accent.
    expect(normalizeForHash('“ﬁne”\u00a0cafe\u0301 …')).toBe('“fine” café ...');
  });

  it('collapses whitespace exactly as /\\s+/g → " " would (the faster pattern skips lone spaces)', () => {
    const pieces = [' ', '  ', '\t', '\n', ' \n ', '\r\n', '\u00a0', '\u2003', '\u2028', '\ufeff', 'a', 'bc', '“'];
    let seed = 3;
    for (let i = 0; i < 5000; i++) {
      let s = '';
      for (let k = 0; k < 8; k++) s += pieces[(seed = (seed * 1103515245 + 12345) >>> 0) % pieces.length]!;
      expect(normalizeForHash(s), JSON.stringify(s)).toBe(s.normalize('NFKC').replace(/\s+/g, ' ').trim());
    }
  });

  it('the plain-text path agrees with NFKC + /\\s+/g over every UTF-16 code unit and real texts', () => {
    const reference = (s: string) => s.normalize('NFKC').replace(/\s+/g, ' ').trim();
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const s of [`a${ch}b`, ` ${ch}\n`, `“x ${ch}${ch}  y”`, `${ch}\n\nz`]) {
        if (normalizeForHash(s) !== reference(s)) expect.fail(`U+${c.toString(16)} in ${JSON.stringify(s)}`);
      }
    }
    const pieces = [' ', '  ', '\n', '\n\n', ' \n ', 'word', 'é', '“', '—', '\t', '\u00a0', 'ﬁ', 'e\u0301'];
    const r = rng(9);
    for (let i = 0; i < 5000; i++) {
      let s = '';
      for (let k = 0; k < 10; k++) s += pieces[Math.floor(r() * pieces.length)]!;
      expect(normalizeForHash(s), JSON.stringify(s)).toBe(reference(s));
    }
    const bodies = makeFeeds(5, 2, 20, new Date('2026-11-30T00:00:00Z')).join('').split('<description>').slice(1).map((d) => htmlToText(d.split('</description>')[0]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')));
    expect(bodies.length).toBeGreaterThanOrEqual(40);
    for (const b of bodies) expect(normalizeForHash(b)).toBe(reference(b));
  });

  it('the plain-text path agrees with NFKC + /\\s+/g over the texts and titles of the real feed corpus', async () => {
    const reference = (s: string) => s.normalize('NFKC').replace(/\s+/g, ' ').trim();
    const dir = '/work/shared/feeds/rss-parser';
    let texts = 0;
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      const parsed = await parseFeed(readFileSync(path.join(dir, f), 'utf8'), `https://corpus.example/${f}`);
      for (const item of parsed.items) {
        for (const t of [item.text, item.title, item.html ?? '']) expect(normalizeForHash(t), `${f}: ${t.slice(0, 80)}`).toBe(reference(t));
        texts++;
      }
    }
    if (existsSync(dir)) expect(texts).toBeGreaterThan(200);
  });

  it('hashes with the same SHA-256 whichever Node API computes it (item ids in seen.json must not change)', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('“é”')).toBe(createHash('sha256').update('“é”', 'utf8').digest('hex'));
  });

  it('remembers the normalized length from hashing, and agrees with normalizing afresh', () => {
    const short = '  “Read   more…”  ';
    const long = 'x'.repeat(39) + ' \u00a0 ' + 'y';
    expect(isHashable(short, contentHashOf(short))).toBe(false);
    expect(isHashable(long, contentHashOf(long))).toBe(true);
    expect(isHashable(long, 'never-hashed')).toBe(true);
    expect(isHashable(short, 'never-hashed')).toBe(false);
  });
});

describe('seen.json', () => {
  it('a missing file is an empty ledger', async () => {
    expect(await readSeenLedger(mkdtempSync(path.join(tmpdir(), 'dd-l-')))).toEqual(emptyLedger());
  });

  it('round-trips with sorted keys and leaves no temporary file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dd-l-'));
    const ledger: SeenLedger = {
      version: 1,
      feeds: { zeta: { etag: null, lastModified: null, lastSuccess: null, consecutiveFailures: 0, lastError: null }, alpha: { etag: '"x"', lastModified: null, lastSuccess: '2026-01-01T00:00:00.000Z', consecutiveFailures: 0, lastError: null } },
      entries: { bbb: { key: 'url:b', firstSeen: '2026-01-01T00:00:00.000Z', issueId: null, contentHash: 'h', urls: ['https://b'], guid: null }, aaa: { key: 'url:a', firstSeen: '2026-01-01T00:00:00.000Z', issueId: 'i1', contentHash: 'h2', urls: [], guid: 'g' } },
    };
    await writeSeenLedger(dir, ledger);
    const text = readFileSync(path.join(dir, 'seen.json'), 'utf8');
    expect(text.indexOf('"aaa"')).toBeLessThan(text.indexOf('"bbb"'));
    expect(text.indexOf('"alpha"')).toBeLessThan(text.indexOf('"zeta"'));
    expect(text.indexOf('"entries"')).toBeLessThan(text.indexOf('"feeds"'));
    expect(text.endsWith('}\n')).toBe(true);
    expect(readdirSync(dir)).toEqual(['seen.json']);
    expect(await readSeenLedger(dir)).toEqual(ledger);
    // Writing the same ledger twice gives the same bytes (small git diffs).
    await writeSeenLedger(dir, await readSeenLedger(dir));
    expect(readFileSync(path.join(dir, 'seen.json'), 'utf8')).toBe(text);
  });

  it.each([
    ['{"version":1,"entries":{},', /not valid JSON/],
    ['[]', /not a JSON object/],
    ['{"version":2,"entries":{},"feeds":{}}', /version 2/],
    ['{"version":1,"entries":{"x":{"key":1}},"feeds":{}}', /entry "x"/],
  ])('a corrupt file is LEDGER_CORRUPT naming the file: %s', async (content, message) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dd-l-'));
    writeFileSync(path.join(dir, 'seen.json'), content);
    const err = await readSeenLedger(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('LEDGER_CORRUPT');
    expect((err as DigestError).origin).toContain(path.join(dir, 'seen.json'));
    expect((err as DigestError).message).toMatch(message);
  });
});

describe('ledger identity', () => {
  const NOW = new Date('2026-11-30T08:00:00Z');
  const url = 'https://f.example/rss';
  const cfg = { feeds: [{ id: 'f', url, title: 'f', stance: 'neutral', speakers: [], primary: false }], gather: testConfig() } as unknown as Config;
  const serve = (body: string): FeedFetcher => async (u) => ({ status: 'ok', body, finalUrl: u, etag: null, lastModified: null });
  const dir = mkdtempSync(path.join(tmpdir(), 'dd-l-'));

  it('an edited item (same link, new text) is known, not new, and its hash is updated', async () => {
    const v1 = rss([{ title: 'Post', link: 'https://x.example/p', description: 'Original text of the post, long enough to hash.', date: 'Sun, 29 Nov 2026 00:00:00 GMT' }]);
    const v2 = rss([{ title: 'Post (updated)', link: 'https://x.example/p', description: 'Corrected text of the post, long enough to hash.', date: 'Sun, 29 Nov 2026 00:00:00 GMT' }]);
    const r1 = await gather({ config: cfg, sourcesDir: dir, ledger: emptyLedger(), now: NOW, fetch: serve(v1) });
    const issued = markIssued(r1.ledger, r1.gathered.items, 'i1');
    const r2 = await gather({ config: cfg, sourcesDir: dir, ledger: issued, now: NOW, fetch: serve(v2) });
    expect(r2.gathered.items).toEqual([]);
    expect(r2.gathered.known.map((i) => i.title)).toEqual(['Post (updated)']);
    const entry = r2.ledger.entries[r2.gathered.known[0]!.id]!;
    expect(entry.issueId).toBe('i1');
    expect(entry.contentHash).toBe(r2.gathered.known[0]!.contentHash);
    expect(entry.contentHash).not.toBe(r1.gathered.items[0]!.contentHash);
  });

  it('markIssued keeps the first issue an item was in', () => {
    const l = emptyLedger();
    l.entries.abc = { key: 'url:x', firstSeen: '', issueId: 'first', contentHash: 'h', urls: [], guid: null };
    const item = { id: 'abc', links: [], contentHash: 'h', guid: null } as never;
    expect(markIssued(l, [item], 'second').entries.abc!.issueId).toBe('first');
  });
});

/**
 * seen.json is committed with the digests and read back by every later run: an entry's key and id (a hash of
 * the key) must mean the same thing in every release. These tests pin both for each kind of identity, and
 * check that a version-1 file written by hand, as it sits in a repository today, still marks its items seen.
 */
describe('seen.json format, version 1', () => {
  const NOW = new Date('2026-11-30T08:00:00Z');
  const FORMAT_CHANGED =
    'the seen-ledger key format changed: every seen.json already committed would stop recognizing its items, and ' +
    'they would be published again. Changing it needs SeenLedger.version bumped (src/gather/ledger.ts) and a ' +
    'migration that reads version-1 files; until then keep ledgerKeyOf and itemIdOf as they are';
  const cfg = { feeds: [{ id: 'f', url: 'https://f.example/rss', title: 'f', stance: 'neutral', speakers: [], primary: false }], gather: testConfig() } as unknown as Config;
  const body = rss([
    { title: 'The age of research', link: 'https://Example.org/age-of-research/?utm_source=rss#top', description: 'Ilya Sutskever says the age of scaling is over and research matters again.', date: 'Sun, 29 Nov 2026 00:00:00 GMT' },
    { title: 'A post with neither link nor GUID', description: 'Scaling laws still hold, this post says, with neither a link nor a GUID.', date: 'Sun, 29 Nov 2026 00:00:00 GMT' },
    { title: 'A reply by GUID', guid: 'tag:replies.example,2026:42', description: 'A reply arguing that scaling still works, known only by its GUID here.', date: 'Sun, 29 Nov 2026 00:00:00 GMT' },
  ]);
  const fetch: FeedFetcher = async (u) => ({ status: 'ok', body, finalUrl: u, etag: null, lastModified: null });
  const sourcesDir = mkdtempSync(path.join(tmpdir(), 'dd-l-'));
  mkdirSync(path.join(sourcesDir, 'notes'));
  // A dropped file is keyed by its path even though it cites a URL.
  writeFileSync(path.join(sourcesDir, 'notes/ilya.md'), '---\ntitle: Notes on the interview\nurl: https://www.dwarkesh.com/p/ilya-sutskever-2\n---\nWe are moving from the age of scaling to the age of research.\n');

  it('keys a feed item by its canonical link (else GUID, else hash) and a dropped file by its path, under these ids', async () => {
    const { ledger } = await gather({ config: cfg, sourcesDir, ledger: emptyLedger(), now: NOW, fetch });
    const keys = Object.fromEntries(Object.entries(ledger.entries).map(([id, e]) => [id, e.key]));
    expect(keys, FORMAT_CHANGED).toEqual({
      '07f60a8af7bfa63b': 'url:example.org/age-of-research',
      '42c1b1110d35f948': 'guid:tag:replies.example,2026:42',
      'bbe333c65c39c317': 'hash:aa93f7473efe229f7b522e41b132b87f21b7054f661584a93d99e9465ec83be2',
      'c196f25316aa29ed': 'file:notes/ilya.md',
    });
    // The same strings straight from the functions gather keys with.
    expect(ledgerKeyOf({ url: 'https://example.org/age-of-research', guid: 'ignored-when-there-is-a-link', title: 't', text: 'x' }), FORMAT_CHANGED).toBe('url:example.org/age-of-research');
    expect(ledgerKeyOf({ url: 'https://www.dwarkesh.com/p/ilya-sutskever-2', guid: null, file: 'notes/ilya.md', title: 't', text: 'x' }), FORMAT_CHANGED).toBe('file:notes/ilya.md');
    expect(itemIdOf('file:notes/ilya.md'), FORMAT_CHANGED).toBe('c196f25316aa29ed');
  });

  it('a version-1 seen.json written by hand loads, and its items (edited since) are seen, not new', async () => {
    const digestsDir = mkdtempSync(path.join(tmpdir(), 'dd-l-'));
    // As committed by an earlier release. The content hashes are of earlier wordings (every item was edited
    // since), so each item must be recognized by its key, link, GUID or path, not by its text.
    writeFileSync(path.join(digestsDir, 'seen.json'), `{
  "entries": {
    "07f60a8af7bfa63b": {
      "contentHash": "1111111111111111111111111111111111111111111111111111111111111111",
      "firstSeen": "2026-11-20T08:00:00.000Z",
      "guid": null,
      "issueId": "2026-11-23-7",
      "key": "url:example.org/age-of-research",
      "urls": [
        "https://example.org/age-of-research"
      ]
    },
    "42c1b1110d35f948": {
      "contentHash": "2222222222222222222222222222222222222222222222222222222222222222",
      "firstSeen": "2026-11-20T08:00:00.000Z",
      "guid": "tag:replies.example,2026:42",
      "issueId": "2026-11-23-7",
      "key": "guid:tag:replies.example,2026:42",
      "urls": []
    },
    "bbe333c65c39c317": {
      "contentHash": "3333333333333333333333333333333333333333333333333333333333333333",
      "firstSeen": "2026-11-20T08:00:00.000Z",
      "guid": null,
      "issueId": "2026-11-23-7",
      "key": "hash:aa93f7473efe229f7b522e41b132b87f21b7054f661584a93d99e9465ec83be2",
      "urls": []
    },
    "c196f25316aa29ed": {
      "contentHash": "4444444444444444444444444444444444444444444444444444444444444444",
      "firstSeen": "2026-11-20T08:00:00.000Z",
      "guid": null,
      "issueId": "2026-11-23-7",
      "key": "file:notes/ilya.md",
      "urls": [
        "https://www.dwarkesh.com/p/ilya-sutskever-2"
      ]
    }
  },
  "feeds": {
    "f": {
      "consecutiveFailures": 0,
      "etag": "\\"v1\\"",
      "lastError": null,
      "lastModified": null,
      "lastSuccess": "2026-11-23T08:00:00.000Z"
    }
  },
  "version": 1
}
`);
    const stored = await readSeenLedger(digestsDir);
    expect(stored.feeds.f!.etag).toBe('"v1"');
    const { gathered, ledger } = await gather({ config: cfg, sourcesDir, ledger: stored, now: NOW, fetch });
    expect(gathered.items.map((i) => i.title), FORMAT_CHANGED).toEqual([]);
    expect(gathered.known.map((i) => i.id).sort(), FORMAT_CHANGED).toEqual(['07f60a8af7bfa63b', '42c1b1110d35f948', 'bbe333c65c39c317', 'c196f25316aa29ed']);
    expect(Object.keys(ledger.entries).sort()).toEqual(Object.keys(stored.entries).sort());
    expect(Object.values(ledger.entries).every((e) => e.issueId === '2026-11-23-7')).toBe(true);
  });
});
