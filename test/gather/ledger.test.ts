import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { NFKC_STABLE, sha256, canonicalUrl, contentHashOf, emptyLedger, isHashable, normalizeForHash, readSeenLedger, writeSeenLedger, type SeenLedger } from '../../src/gather/ledger.js';
import { gather, markIssued, type FeedFetcher } from '../../src/gather/index.js';
import type { Config } from '../../src/model.js';
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
