import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  maskAddress, normalizeAddress, parseSubscribers, readSubscribers, readSuppressed, subscriberHash, tokenRecipient,
  unsubscribeToken, verifyUnsubscribeToken, writeSuppressed,
} from '../../src/deliver/subscribers.js';
import { SendLedger, parseLedger } from '../../src/deliver/ledger.js';
import { DigestError } from '../../src/errors.js';

const LIST = 'debate-digest.example.org';
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'dd-subs-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('parseSubscribers', () => {
  it('reads a CSV with a header, normalises, dedupes and reports bad lines without printing addresses', () => {
    const csv = 'email,name\n  Alice@Example.COM ,Alice\nbob@example.org,"Bob, Jr."\nalice@example.com,dup\nnot-an-address,x\n\n# comment\ncarol@example.net\n';
    const { subscribers, problems } = parseSubscribers(csv, 'subscribers.csv', LIST);
    expect(subscribers.map((s) => s.email)).toEqual(['alice@example.com', 'bob@example.org', 'carol@example.net']);
    expect(subscribers[0]!.masked).toBe('a***@e***.com');
    expect(subscribers[0]!.hash).toBe(subscriberHash(LIST, 'alice@example.com'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'SUBSCRIBERS_INVALID', origin: 'subscribers.csv:5' });
  });

  it('reads a comma/newline list (the SUBSCRIBERS secret)', () => {
    const { subscribers, problems } = parseSubscribers('a@example.com, b@example.com\r\nc@example.com;;', 'env SUBSCRIBERS', LIST);
    expect(subscribers.map((s) => s.email)).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    expect(problems).toEqual([]);
  });

  it.each([
    ['victim@example.com\rBcc: everyone@example.com'],
    ['"Name" <a@example.com>'],
    ['a@example.com\nBcc: x@example.com'],
    ['a b@example.com'],
    ['a@localhost'],
    ['a@exa_mple.com'],
    ['ünï@example.com'],
    ['a@example.com>\r\nX-Injected: 1'],
  ])('rejects header injection and odd forms: %j', (raw) => {
    const { subscribers, problems } = parseSubscribers(`email\n${raw}`, 'f', LIST);
    // A CR or LF is a line break, never part of an address: whatever survives is one plain address.
    for (const s of subscribers) expect(s.email).toMatch(/^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]+$/);
    expect(subscribers.every((s) => !/[\r\n<>" ]/.test(s.email))).toBe(true);
    expect(problems.length + subscribers.length).toBeGreaterThan(0);
    expect(normalizeAddress(raw)).toBeNull();
  });

  it('masks', () => {
    expect(maskAddress('alice@example.com')).toBe('a***@e***.com');
    expect(maskAddress('x@y')).toBe('x***@y***');
    expect(maskAddress('garbage')).toBe('***');
  });
});

describe('readSubscribers', () => {
  it('prefers SUBSCRIBERS over SUBSCRIBERS_FILE over the default file; a missing default is an empty list', async () => {
    const d = tmp();
    const file = path.join(d, 'list.csv');
    writeFileSync(file, 'email\nfile@example.com\n');
    const def = path.join(d, 'default.csv');
    writeFileSync(def, 'email\ndefault@example.com\n');
    expect((await readSubscribers({ SUBSCRIBERS: 'env@example.com', SUBSCRIBERS_FILE: file }, { file: def, listId: LIST })).subscribers.map((s) => s.email)).toEqual(['env@example.com']);
    expect((await readSubscribers({ SUBSCRIBERS_FILE: file }, { file: def, listId: LIST })).subscribers.map((s) => s.email)).toEqual(['file@example.com']);
    expect((await readSubscribers({}, { file: def, listId: LIST })).subscribers.map((s) => s.email)).toEqual(['default@example.com']);
    expect((await readSubscribers({}, { file: path.join(d, 'none.csv') })).subscribers).toEqual([]);
    await expect(readSubscribers({ SUBSCRIBERS_FILE: path.join(d, 'none.csv') }, { file: def })).rejects.toMatchObject({ code: 'CONFIG_MISSING' });
  });
});

describe('unsubscribe tokens', () => {
  it('verifies for the same list, address and secret only', () => {
    const t = unsubscribeToken(LIST, 'a@example.com', 's3cret');
    expect(verifyUnsubscribeToken(LIST, 'a@example.com', t, 's3cret')).toBe(true);
    expect(verifyUnsubscribeToken(LIST, 'a@example.com', t, 'other')).toBe(false);
    expect(verifyUnsubscribeToken(LIST, 'b@example.com', t, 's3cret')).toBe(false);
    expect(verifyUnsubscribeToken('other.list', 'a@example.com', t, 's3cret')).toBe(false);
    expect(verifyUnsubscribeToken(LIST, 'a@example.com', t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'), 's3cret')).toBe(false);
    expect(verifyUnsubscribeToken(LIST, 'a@example.com', 'short', 's3cret')).toBe(false);
    expect(tokenRecipient(t)).toBe(subscriberHash(LIST, 'a@example.com').slice(0, 32));
    expect(t).not.toContain('example');
  });
});

describe('suppression list', () => {
  it('stores hashes only, merges, and refuses addresses', async () => {
    const d = tmp();
    expect((await readSuppressed(d)).size).toBe(0);
    const h = subscriberHash(LIST, 'a@example.com');
    await writeSuppressed(d, [h]);
    await writeSuppressed(d, [h, subscriberHash(LIST, 'b@example.com')]);
    expect((await readSuppressed(d)).size).toBe(2);
    expect(readFileSync(path.join(d, 'suppressed.json'), 'utf8')).not.toContain('@');
    await expect(writeSuppressed(d, ['a@example.com'])).rejects.toBeInstanceOf(DigestError);
    writeFileSync(path.join(d, 'suppressed.json'), '{not json');
    await expect(readSuppressed(d)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
  });
});

describe('send ledger', () => {
  const rec = (recipient: string, state: string) => ({ issueId: 'i-1', recipient, state, at: '2026-11-30T07:00:00.000Z', attempts: 1, responseCode: null, error: null, messageId: '<m@x>' });
  it('keeps the last state per recipient, cuts a torn final line, and refuses a corrupt middle line', async () => {
    const d = tmp();
    mkdirSync(path.join(d, 'sends'));
    const file = path.join(d, 'sends', 'i-1.jsonl');
    writeFileSync(file, JSON.stringify(rec('a', 'attempting')) + '\n' + JSON.stringify(rec('a', 'sent')) + '\n' + '{"issueId":"i-1","recip');
    const l = SendLedger.open(d, 'i-1');
    expect(l.last('a')?.state).toBe('sent');
    await l.append(rec('b', 'attempting') as never);
    l.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(SendLedger.read(d, 'i-1').map((r) => r.state)).toEqual(['attempting', 'sent', 'attempting']);
    appendFileSync(file, 'garbage\n' + JSON.stringify(rec('c', 'sent')) + '\n');
    expect(() => SendLedger.read(d, 'i-1')).toThrow(DigestError);
    expect(() => parseLedger('{"recipient":"a","state":"bogus"}\n', 'x')).toThrow(/not a send record/);
    expect(() => SendLedger.open(d, '../evil')).toThrow(DigestError);
  });
});
