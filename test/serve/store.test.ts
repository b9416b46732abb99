import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { activeSubscribers, createQueries, MIGRATIONS, openStore } from '../../src/serve/store.js';
import { tempDb } from './helpers.js';

describe('openStore', () => {
  it('creates the schema at the latest version, in WAL mode', async () => {
    const file = await tempDb();
    const db = openStore(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
      expect(tables).toEqual(['audit', 'rate_limits', 'subscribers', 'tokens']);
    } finally {
      db.close();
    }
  });

  it('reopening runs no migration twice and keeps the data', async () => {
    const file = await tempDb();
    const db = openStore(file);
    const q = createQueries(db, 'list.example.org');
    const row = q.requestSubscription('a@example.org', 'n'.repeat(22), '2026-11-30T00:00:00Z', '2026-12-02T00:00:00Z');
    expect(q.confirm('n'.repeat(22), row.id, '2026-11-30T00:01:00Z')).toBe(true);
    db.close();
    const again = openStore(file);
    again.close();
    expect(activeSubscribers(file)).toEqual(['a@example.org']);
  });

  it('migrates a database left at an older version', async () => {
    const file = await tempDb();
    // A file from before the service existed: no tables, user_version 0.
    const raw = new Database(file);
    raw.exec('CREATE TABLE unrelated (x)');
    raw.close();
    const db = openStore(file);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('refuses a database from a newer version of the program', async () => {
    const file = await tempDb();
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    let err: unknown;
    try {
      openStore(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('CONFIG_INVALID');
    expect((err as DigestError).origin).toBe(file);
  });

  it('an unwritable path is CONFIG_INVALID naming it', () => {
    expect(() => openStore('/nonexistent-dir/sub/x.db')).toThrow(DigestError);
  });
});

describe('queries', () => {
  it('a confirmation nonce is spent once; unsubscribe is idempotent and audited once', async () => {
    const file = await tempDb();
    const db = openStore(file);
    try {
      const q = createQueries(db, 'list.example.org');
      const row = q.requestSubscription('b@example.org', 'm'.repeat(22), '2026-11-30T00:00:00Z', '2026-12-02T00:00:00Z');
      expect(row.status).toBe('pending');
      expect(q.confirm('m'.repeat(22), row.id, '2026-11-30T00:01:00Z')).toBe(true);
      expect(q.confirm('m'.repeat(22), row.id, '2026-11-30T00:02:00Z')).toBe(false);
      expect(q.unsubscribe(row.id, '2026-11-30T00:03:00Z', 'test')).toBe(true);
      expect(q.unsubscribe(row.id, '2026-11-30T00:04:00Z', 'test')).toBe(false);
      const audit = db.prepare('SELECT event, masked FROM audit ORDER BY id').all();
      expect(audit).toEqual([
        { event: 'subscribe-requested', masked: 'b***@e***.org' },
        { event: 'confirmed', masked: 'b***@e***.org' },
        { event: 'unsubscribed', masked: 'b***@e***.org' },
      ]);
      expect(activeSubscribers(file)).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('prune', () => {
  it('forgets a pending address once its last token is pruned; keeps confirmed ones', async () => {
    const file = await tempDb();
    const db = openStore(file);
    try {
      const q = createQueries(db, 'list.example.org');
      q.requestSubscription('never@example.org', 'p'.repeat(22), '2026-10-01T00:00:00Z', '2026-10-03T00:00:00Z');
      const kept = q.requestSubscription('kept@example.org', 'k'.repeat(22), '2026-10-01T00:00:00Z', '2026-10-03T00:00:00Z');
      q.confirm('k'.repeat(22), kept.id, '2026-10-01T00:01:00Z');
      q.requestSubscription('recent@example.org', 'r'.repeat(22), '2026-11-29T00:00:00Z', '2026-12-01T00:00:00Z');
      // Tokens that expired before Nov 1 go; with them the pending address that never confirmed.
      expect(q.prune(0, '2026-11-01T00:00:00Z')).toBe(1);
      const left = (db.prepare('SELECT address, status FROM subscribers ORDER BY address').all() as { address: string }[]).map((r) => r.address);
      expect(left).toEqual(['kept@example.org', 'recent@example.org']);
    } finally {
      db.close();
    }
  });
});

describe('activeSubscribers', () => {
  it('a database file that does not exist is CONFIG_MISSING, and is not created', async () => {
    const file = await tempDb();
    let err: unknown;
    try {
      activeSubscribers(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('CONFIG_MISSING');
    expect((err as DigestError).origin).toBe(file);
    expect(existsSync(file)).toBe(false);
  });
});
