/**
 * Subscribers: parsing the list, hashing addresses for the ledger, unsubscribe tokens, the suppression list.
 *
 * Addresses are personal data: they never reach a log line, a file name, a ledger or git. Everywhere outside
 * the SMTP envelope and the To: header we use `Subscriber.hash` (sha256 of list id and address) or `masked`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Problem, Subscriber } from '../model.js';
import { DigestError } from '../errors.js';

/**
 * What we accept: a dot-atom local part and an ASCII domain with a dot. Deliberately narrower than RFC 5322
 * (no quoted local parts, no comments, no IP literals, no UTF-8): whatever passes is safe to put in a header
 * and an SMTP envelope without quoting, so CR/LF, `<`, `>`, `,`, spaces and quotes can never ride along.
 */
const EMAIL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** sha256 over list id and address: the recipient's key in the send ledger and the suppression list. */
export function subscriberHash(listId: string, email: string): string {
  return createHash('sha256').update(`${listId}\n${email}`).digest('hex');
}

/** Every email address in a text (a server's reply), masked as maskAddress does. */
export function maskAddresses(text: string): string {
  return text.replace(/[^\s<>()"',;:]+@[^\s<>()"',;:]+\.[A-Za-z]{2,}/g, (a) => maskAddress(a));
}

/** "alice@example.com" → "a***@e***.com": enough to tell two people apart in a log, not to write to them. */
export function maskAddress(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local.slice(0, 1)}***@${host.slice(0, 1)}***${tld}`;
}

/** Normalise one address (trim, lower-case) and check it; null when it is not one we will send to. */
export function normalizeAddress(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || email.indexOf('@') > 64) return null;
  return EMAIL_RE.test(email) ? email : null;
}

/** Split one CSV line, honouring double-quoted fields ("a, b" and "" escapes). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Parse a subscriber list: either a CSV with a header row `email[,name]`, or a plain list separated by commas
 * and/or newlines (the SUBSCRIBERS secret). Blank lines and `#` comments are skipped. Invalid entries become
 * Problems (masked, with `origin:line`), duplicates are dropped silently.
 */
export function parseSubscribers(csvOrList: string, origin: string, listId: string): { subscribers: Subscriber[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const subscribers: Subscriber[] = [];
  const seen = new Set<string>();
  // A lone CR is as much a line break as LF: treating it as data is how header injection gets in.
  const lines = csvOrList.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const firstReal = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const header = firstReal >= 0 ? splitCsvLine(lines[firstReal]!).map((c) => c.trim().toLowerCase()) : [];
  const isCsv = header[0] === 'email';
  if (isCsv && header.length > 1 && header.slice(1).some((h) => h !== 'name')) {
    problems.push({ code: 'SUBSCRIBERS_INVALID', origin: `${origin}:${firstReal + 1}`, message: `unexpected columns in header "${header.join(',')}"`, hint: 'the header is `email` or `email,name`; extra columns are ignored' });
  }
  const add = (raw: string, where: string) => {
    const email = normalizeAddress(raw);
    if (!email) {
      const shown = raw.includes('@') ? maskAddress(raw.trim()) : raw.trim().length > 0 ? `"${raw.trim().slice(0, 1)}…"` : '(empty)';
      problems.push({ code: 'SUBSCRIBERS_INVALID', origin: where, message: `not a valid address: ${shown}`, hint: 'one plain address per entry, like name@example.org (no display names, quotes or angle brackets)' });
      return;
    }
    if (seen.has(email)) return;
    seen.add(email);
    subscribers.push({ email, masked: maskAddress(email), hash: subscriberHash(listId, email) });
  };
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const where = `${origin}:${i + 1}`;
    if (isCsv) {
      if (i === firstReal) return;
      const cells = splitCsvLine(line);
      add(cells[0] ?? '', where);
    } else {
      for (const part of line.split(/[,;]/)) if (part.trim()) add(part, where);
    }
  });
  return { subscribers, problems };
}

/**
 * Where the list comes from, first found wins: SUBSCRIBERS (the list itself, e.g. a CI secret) >
 * SUBSCRIBERS_FILE (a path) > `defaults.file`. A default file that does not exist is an empty list (a fresh
 * checkout sends to nobody); a SUBSCRIBERS_FILE that does not exist is a configuration error.
 */
export async function readSubscribers(env: NodeJS.ProcessEnv, defaults: { file: string; listId?: string }): Promise<{ subscribers: Subscriber[]; problems: Problem[]; origin: string }> {
  // deliver() re-derives hashes from config.email.listId, so a caller without the list id is still safe.
  const list = defaults.listId ?? 'debate-digest';
  if (env.SUBSCRIBERS && env.SUBSCRIBERS.trim()) {
    return { ...parseSubscribers(env.SUBSCRIBERS, 'env SUBSCRIBERS', list), origin: 'env SUBSCRIBERS' };
  }
  const explicit = env.SUBSCRIBERS_FILE && env.SUBSCRIBERS_FILE.trim();
  const file = explicit || defaults.file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return { subscribers: [], problems: [], origin: file };
    throw new DigestError('CONFIG_MISSING', `cannot read the subscriber list: ${(err as Error).message}`, {
      origin: file,
      hint: explicit ? 'SUBSCRIBERS_FILE names a file that does not exist; fix the path or unset it' : 'check the file permissions',
      cause: err,
    });
  }
  return { ...parseSubscribers(text, file, list), origin: file };
}

// ───────────────────────────── unsubscribe tokens ─────────────────────────────

function mac(listId: string, email: string, secret: string): string {
  return createHmac('sha256', secret).update(`unsubscribe\n${listId}\n${email}`).digest('base64url');
}

/**
 * `<first 32 hex of the recipient hash>.<HMAC-SHA256>`: the hash lets the endpoint find the subscriber
 * without the address in the URL; the HMAC proves we issued it. Stable, so old emails keep working.
 */
export function unsubscribeToken(listId: string, email: string, secret: string): string {
  return unsubscribeTokenWithHash(subscriberHash(listId, email), listId, email, secret);
}

/** unsubscribeToken for a caller that holds subscriberHash(listId, email) already (delivery: one hash less per recipient). */
export function unsubscribeTokenWithHash(hash: string, listId: string, email: string, secret: string): string {
  return `${hash.slice(0, 32)}.${mac(listId, email, secret)}`;
}

/** The recipient-hash prefix a token names (to look the subscriber up), or null when malformed. */
export function tokenRecipient(token: string): string | null {
  const m = /^([0-9a-f]{32})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return m ? m[1]! : null;
}

/** Constant-time check that `token` was issued for this address on this list with this secret. */
export function verifyUnsubscribeToken(listId: string, email: string, token: string, secret: string): boolean {
  if (typeof token !== 'string' || !secret) return false;
  const expected = Buffer.from(unsubscribeToken(listId, email, secret));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// ───────────────────────────── suppression (hashes only, never addresses) ─────────────────────────────

export const SUPPRESSED_FILE = 'suppressed.json';

interface SuppressedFile {
  schema: 1;
  /** Subscriber.hash values, sorted. */
  hashes: string[];
}

/** Recipient hashes that must not be sent to (unsubscribed, complained, bounced hard). */
export async function readSuppressed(ledgerDir: string): Promise<Set<string>> {
  const file = path.join(ledgerDir, SUPPRESSED_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
  try {
    const data = JSON.parse(text) as Partial<SuppressedFile>;
    if (!Array.isArray(data.hashes) || data.hashes.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))) throw new Error('hashes must be a list of sha256 hex strings');
    return new Set(data.hashes);
  } catch (err) {
    throw new DigestError('LEDGER_CORRUPT', `suppression list does not parse: ${(err as Error).message}`, {
      origin: file,
      hint: 'restore it from git history; it holds {"schema":1,"hashes":[...]} with recipient hashes only',
      cause: err,
    });
  }
}

/** Add recipient hashes to the suppression list (atomic replace; idempotent). */
export async function writeSuppressed(ledgerDir: string, add: Iterable<string>): Promise<void> {
  const current = await readSuppressed(ledgerDir);
  for (const h of add) {
    if (!/^[0-9a-f]{64}$/.test(h)) throw new DigestError('SUBSCRIBERS_INVALID', 'only recipient hashes go in the suppression list', { origin: path.join(ledgerDir, SUPPRESSED_FILE), hint: 'pass Subscriber.hash, never an address' });
    current.add(h);
  }
  await mkdir(ledgerDir, { recursive: true });
  const file = path.join(ledgerDir, SUPPRESSED_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const data: SuppressedFile = { schema: 1, hashes: [...current].sort() };
  await writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
  await rename(tmp, file);
}
