/**
 * The subscription service's storage: one SQLite file (better-sqlite3, synchronous, WAL) named by
 * DATABASE_PATH. Its schema is created and migrated on open from a list keyed by `PRAGMA user_version`, so a
 * maintainer upgrading the service never runs a migration by hand.
 *
 * The subscribers table is the only place an address is stored in clear (it has to be: we write to it).
 * Everything else holds hashes: confirmation tokens point at a subscriber id, the audit log keeps masked
 * addresses, rate-limit keys for addresses are sha256 digests.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DigestError } from '../errors.js';
import { maskAddress, subscriberHash } from '../deliver/subscribers.js';

export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced';

export type Db = Database.Database;

/**
 * Each entry moves the schema from version i to i+1. Append only: never edit a shipped entry, since databases
 * in the field already ran it.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: subscribers, single-use confirmation tokens, audit log, rate-limit counters.
  `CREATE TABLE subscribers (
     id INTEGER PRIMARY KEY,
     address TEXT NOT NULL UNIQUE,
     -- subscriberHash(listId, address): what the deliver step's unsubscribe token names (its first 32 hex)
     hash TEXT NOT NULL UNIQUE,
     status TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced')),
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     confirmed_at TEXT,
     unsubscribed_at TEXT
   );
   CREATE INDEX subscribers_status ON subscribers(status);
   CREATE TABLE tokens (
     nonce TEXT PRIMARY KEY,
     subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
     purpose TEXT NOT NULL CHECK (purpose IN ('confirm')),
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     used_at TEXT
   );
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     event TEXT NOT NULL,
     masked TEXT NOT NULL,
     detail TEXT NOT NULL DEFAULT ''
   );
   CREATE TABLE rate_limits (
     key TEXT NOT NULL,
     -- start of the fixed window, epoch seconds (rules with different window lengths share the table)
     window INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (key, window)
   ) WITHOUT ROWID;`,
];

/** Open (creating if needed) and migrate the database. Throws DigestError CONFIG_INVALID naming the file. */
export function openStore(databasePath: string): Db {
  let db: Db;
  try {
    db = new Database(databasePath);
  } catch (err) {
    throw new DigestError('CONFIG_INVALID', `cannot open the subscriber database: ${(err as Error).message}`, {
      origin: databasePath,
      hint: 'set DATABASE_PATH to a writable file path (default subscribers.db in the working directory)',
      cause: err,
    });
  }
  // WAL: readers (the sending step's activeSubscribers) never block the service's writes, and vice versa.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Another process (a send) may hold the write lock for a moment; wait rather than fail.
  db.pragma('busy_timeout = 5000');
  migrate(db, databasePath);
  return db;
}

function migrate(db: Db, origin: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    db.close();
    throw new DigestError('CONFIG_INVALID', `the subscriber database has schema version ${current}, newer than this program knows (${MIGRATIONS.length})`, {
      origin,
      hint: 'upgrade debate-digest, or point DATABASE_PATH at another file',
    });
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    // One transaction per step: a crash mid-migration leaves the previous version intact.
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * The addresses to send the next issue to, in a stable order. Opens and closes the file itself. A file that
 * does not exist is an error, not an empty list: a mistyped DATABASE_PATH must not look like "nobody".
 */
export function activeSubscribers(databasePath: string): string[] {
  if (!existsSync(databasePath)) {
    throw new DigestError('CONFIG_MISSING', 'the subscriber database does not exist', {
      origin: databasePath,
      hint: 'set DATABASE_PATH to the file `digest serve` writes (default subscribers.db in its working directory)',
    });
  }
  const db = openStore(databasePath);
  try {
    return (db.prepare(`SELECT address FROM subscribers WHERE status = 'active' ORDER BY id`).all() as { address: string }[]).map((r) => r.address);
  } finally {
    db.close();
  }
}

/** Every row of every table, ordered: for tests that prove a request left the database unchanged. */
export function dumpTables(db: Db, tables: readonly string[] = ['subscribers', 'tokens', 'audit', 'rate_limits']): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all();
  return out;
}

export interface SubscriberRow {
  id: number;
  address: string;
  hash: string;
  status: SubscriberStatus;
  created_at: string;
  updated_at: string;
  confirmed_at: string | null;
  unsubscribed_at: string | null;
}

export interface TokenRow {
  nonce: string;
  subscriber_id: number;
  purpose: 'confirm';
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** Key for an address in the rate-limit table: never the address itself. */
export function addressKey(address: string): string {
  return `addr:${createHash('sha256').update(address).digest('hex').slice(0, 32)}`;
}

/**
 * The statements the service runs, prepared once. Each method that changes state is one transaction and
 * writes its audit line in the same transaction, so the log never disagrees with the table.
 */
export function createQueries(db: Db, listId: string) {
  const q = {
    byAddress: db.prepare<[string], SubscriberRow>(`SELECT * FROM subscribers WHERE address = ?`),
    byId: db.prepare<[number], SubscriberRow>(`SELECT * FROM subscribers WHERE id = ?`),
    // The deliver step's token carries the first 32 hex of the hash; hex sorts below 'g', so this is a prefix range.
    byHashPrefix: db.prepare<[string, string], SubscriberRow>(`SELECT * FROM subscribers WHERE hash >= ? AND hash < ? LIMIT 2`),
    insertSubscriber: db.prepare<[string, string, string, string]>(`INSERT INTO subscribers (address, hash, status, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`),
    setStatus: db.prepare<{ id: number; status: SubscriberStatus; at: string; confirmed: string | null; unsubscribed: string | null }>(
      `UPDATE subscribers SET status = @status, updated_at = @at,
         confirmed_at = COALESCE(@confirmed, confirmed_at), unsubscribed_at = COALESCE(@unsubscribed, unsubscribed_at)
       WHERE id = @id`,
    ),
    insertToken: db.prepare<[string, number, string, string]>(`INSERT INTO tokens (nonce, subscriber_id, purpose, created_at, expires_at) VALUES (?, ?, 'confirm', ?, ?)`),
    token: db.prepare<[string], TokenRow>(`SELECT * FROM tokens WHERE nonce = ?`),
    // Single use: the WHERE makes a second spend of the same nonce change nothing, even under a race.
    spendToken: db.prepare<[string, string]>(`UPDATE tokens SET used_at = ? WHERE nonce = ? AND used_at IS NULL`),
    audit: db.prepare<[string, string, string, string]>(`INSERT INTO audit (at, event, masked, detail) VALUES (?, ?, ?, ?)`),
    hit: db.prepare<[string, number], { count: number }>(
      `INSERT INTO rate_limits (key, window, count) VALUES (?, ?, 1)
       ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count`,
    ),
    pruneLimits: db.prepare<[number]>(`DELETE FROM rate_limits WHERE window < ?`),
    pruneTokens: db.prepare<[string]>(`DELETE FROM tokens WHERE expires_at < ?`),
    // Someone who never confirmed never agreed to be kept: once their last link is gone, so is their address.
    prunePending: db.prepare(`DELETE FROM subscribers WHERE status = 'pending' AND id NOT IN (SELECT subscriber_id FROM tokens)`),
    active: db.prepare<[], { address: string }>(`SELECT address FROM subscribers WHERE status = 'active' ORDER BY id`),
  };

  const audit = (at: string, event: string, address: string, detail = '') => q.audit.run(at, event, maskAddress(address), detail);
  // BEGIN IMMEDIATE: these read then write; a deferred transaction could lose its snapshot to a writer in
  // another process (a second service, or a maintainer's sqlite3 shell) and fail with SQLITE_BUSY at once.
  const tx = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => db.transaction(fn).immediate;

  return {
    /** Record a subscription request: a pending row for a new address, and a fresh confirmation nonce. */
    requestSubscription: tx((address: string, nonce: string, at: string, expiresAt: string): SubscriberRow => {
      let row = q.byAddress.get(address);
      if (!row) {
        q.insertSubscriber.run(address, subscriberHash(listId, address), at, at);
        row = q.byAddress.get(address)!;
      }
      q.insertToken.run(nonce, row.id, at, expiresAt);
      audit(at, 'subscribe-requested', address, `status=${row.status}`);
      return row;
    }),
    /** Run `fn` in one write transaction; the methods above nest inside it as savepoints. */
    atomically: <R>(fn: () => R): R => db.transaction(fn).immediate(),
    token: (nonce: string) => q.token.get(nonce),
    subscriber: (id: number) => q.byId.get(id),
    byHashPrefix: (prefix: string): SubscriberRow | undefined => {
      const rows = q.byHashPrefix.all(prefix, `${prefix}g`);
      // Two addresses sharing 128 bits of hash prefix is not going to happen; refuse rather than guess.
      return rows.length === 1 ? rows[0] : undefined;
    },
    /** Spend a confirmation nonce and activate its subscriber; false when the nonce was already spent. */
    confirm: tx((nonce: string, subscriberId: number, at: string): boolean => {
      if (q.spendToken.run(at, nonce).changes !== 1) return false;
      const row = q.byId.get(subscriberId)!;
      q.setStatus.run({ id: row.id, status: 'active', at, confirmed: at, unsubscribed: null });
      audit(at, 'confirmed', row.address, `from=${row.status}`);
      return true;
    }),
    /** Mark unsubscribed (idempotent: a second one-click changes nothing and writes no audit line). */
    unsubscribe: tx((subscriberId: number, at: string, via: string): boolean => {
      const row = q.byId.get(subscriberId);
      if (!row || row.status === 'unsubscribed') return false;
      q.setStatus.run({ id: row.id, status: 'unsubscribed', at, confirmed: null, unsubscribed: at });
      audit(at, 'unsubscribed', row.address, `from=${row.status} via=${via}`);
      return true;
    }),
    /** Count one hit on a fixed-window counter; returns the count in this window including this hit. */
    hit: (key: string, windowStart: number): number => q.hit.get(key, windowStart)!.count,
    /**
     * Drop finished rate-limit windows, tokens expired long ago (a recent expired one still answers 410), and
     * pending addresses left with no token. Returns how many pending addresses were forgotten.
     */
    prune: tx((windowsBefore: number, tokensExpiredBefore: string): number => {
      q.pruneLimits.run(windowsBefore);
      q.pruneTokens.run(tokensExpiredBefore);
      return q.prunePending.run().changes;
    }),
    active: (): string[] => q.active.all().map((r) => r.address),
  };
}

export type Queries = ReturnType<typeof createQueries>;
