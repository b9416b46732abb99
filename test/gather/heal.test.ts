import { describe, expect, it } from 'vitest';
import { emptyLedger, formatLedger, healSeenLedger, parseSeenLedger, type LedgerEntry, type RecordedIssue, type SeenLedger } from '../../src/gather/ledger.js';

const entry = (key: string, issueId: string | null): LedgerEntry => ({ key, firstSeen: '2026-11-20T00:00:00.000Z', issueId, contentHash: 'h', urls: [], guid: null });
const ledgerOf = (entries: Record<string, LedgerEntry>, pending?: string): SeenLedger => ({ ...emptyLedger(), entries, ...(pending ? { pending } : {}) });
const issue = (id: string, sources: RecordedIssue['sources']): RecordedIssue => ({ id, publishedAt: `${id.slice(0, 10)}T07:00:00.000Z`, sources });

describe('healSeenLedger', () => {
  it('leaves a consistent ledger alone (the same object, nothing reported)', () => {
    const l = ledgerOf({ a: entry('url:x.org/a', '2026-11-30-1'), b: entry('url:x.org/b', null) });
    const r = healSeenLedger(l, [issue('2026-11-30-1', [{ itemId: 'a', url: 'https://x.org/a', origin: 'https://x.org/feed' }])]);
    expect(r.healed).toEqual([]);
    expect(r.ledger).toBe(l);
  });

  it('pending with its record: the run stopped after the record; marks stand, pending goes', () => {
    const l = ledgerOf({ a: entry('url:x.org/a', '2026-11-30-1') }, '2026-11-30-1');
    const r = healSeenLedger(l, [issue('2026-11-30-1', [{ itemId: 'a', url: 'https://x.org/a', origin: 'https://x.org/feed' }])]);
    expect(r.healed).toEqual([{ issueId: '2026-11-30-1', action: 'completed', items: 0, unkeyable: 0 }]);
    expect(r.ledger.pending).toBeUndefined();
    expect(r.ledger.entries.a?.issueId).toBe('2026-11-30-1');
    expect(l.pending).toBe('2026-11-30-1'); // pure
  });

  it('pending without its record: the run stopped before it; exactly that issue\'s marks are undone', () => {
    const l = ledgerOf({ old: entry('url:x.org/old', '2026-11-23-1'), a: entry('url:x.org/a', '2026-11-30-2'), b: entry('file:n.md', '2026-11-30-2'), pre: entry('url:x.org/p', 'before-backfill-window') }, '2026-11-30-2');
    const r = healSeenLedger(l, [issue('2026-11-23-1', [{ itemId: 'old', url: 'https://x.org/old', origin: 'https://x.org/feed' }])]);
    expect(r.healed).toEqual([{ issueId: '2026-11-30-2', action: 'rolled-back', items: 2 }].map((h) => ({ ...h, unkeyable: 0 })));
    expect(Object.fromEntries(Object.entries(r.ledger.entries).map(([k, e]) => [k, e.issueId]))).toEqual({ old: '2026-11-23-1', a: null, b: null, pre: 'before-backfill-window' });
    expect(r.ledger.pending).toBeUndefined();
  });

  it('a record citing items the ledger has unissued or lacks: marked with the record, oldest record first', () => {
    const l = ledgerOf({ a: entry('guid:tag:x,1', null), done: entry('url:x.org/d', '2026-11-23-1') });
    const first = issue('2026-11-23-1', [
      { itemId: 'done', url: 'https://x.org/d', origin: 'https://x.org/feed' },
      { itemId: 'b', url: 'https://x.org/b?utm_source=feed', origin: 'https://x.org/feed' },
    ]);
    const second = issue('2026-11-30-1', [
      { itemId: 'a', url: null, origin: 'https://x.org/feed' },
      { itemId: 'b', url: 'https://x.org/b?utm_source=feed', origin: 'https://x.org/feed' },
      { itemId: 'note', url: 'https://elsewhere.org/cited', origin: 'notes/ilya.md' },
      { itemId: 'nolink', url: null, origin: 'https://x.org/feed' },
    ]);
    const r = healSeenLedger(l, [first, second]);
    expect(r.healed).toEqual([
      { issueId: '2026-11-23-1', action: 'marked', items: 1, unkeyable: 0 },
      { issueId: '2026-11-30-1', action: 'marked', items: 3, unkeyable: 1 },
    ]);
    const b = 'b';
    // An existing entry keeps its key and first sighting; a missing one is keyed as gather keys that item.
    expect(r.ledger.entries.a).toMatchObject({ key: 'guid:tag:x,1', issueId: '2026-11-30-1', firstSeen: '2026-11-20T00:00:00.000Z' });
    expect(r.ledger.entries[b]).toMatchObject({ key: 'url:x.org/b', issueId: '2026-11-23-1', firstSeen: '2026-11-23T07:00:00.000Z', urls: ['https://x.org/b'] });
    expect(r.ledger.entries.note).toMatchObject({ key: 'file:notes/ilya.md', issueId: '2026-11-30-1' });
    expect(r.ledger.entries.nolink).toMatchObject({ key: 'cited:nolink', issueId: '2026-11-30-1' });
    expect(l.entries[b]).toBeUndefined(); // pure
    // Healed once is healed: a second pass finds nothing.
    expect(healSeenLedger(r.ledger, [first, second]).healed).toEqual([]);
  });

  it('a ledger naming an issue that has no record, without pending, is left alone (a record deleted by hand)', () => {
    const l = ledgerOf({ a: entry('url:x.org/a', '2026-11-30-1') });
    expect(healSeenLedger(l, []).ledger).toBe(l);
  });
});

describe('the pending field on disk', () => {
  it('round-trips, and anything but an issue id is LEDGER_CORRUPT', () => {
    const l = ledgerOf({}, '2026-11-30-1');
    expect(parseSeenLedger(formatLedger(l), 'seen.json').pending).toBe('2026-11-30-1');
    expect(parseSeenLedger(formatLedger(emptyLedger()), 'seen.json').pending).toBeUndefined();
    for (const bad of [1, '', null]) {
      expect(() => parseSeenLedger(JSON.stringify({ ...emptyLedger(), pending: bad }), 'seen.json')).toThrow(/"pending" is not an issue id/);
    }
  });
});
