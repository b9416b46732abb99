/**
 * Two service processes on one database file, racing: a confirmation token is spent exactly once, and
 * concurrent subscribes and one-clicks leave exactly one row per address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeToken } from '../../src/deliver/subscribers.js';
import { createQueries, openStore } from '../../src/serve/store.js';
import { confirmToken } from '../../src/serve/tokens.js';
import { post, SECRET, tempDb } from './helpers.js';

const LIST = 'debate-digest.example.org';
const children: ChildProcess[] = [];
const outputs = new Map<ChildProcess, () => string>();
const urls: string[] = [];
let dbPath: string;

function startChild(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'child-server.ts')], {
    env: { PATH: process.env.PATH, UNSUBSCRIBE_SECRET: SECRET, DATABASE_PATH: dbPath },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serve listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    outputs.set(child, () => out);
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
}

beforeAll(async () => {
  dbPath = await tempDb();
  // Migrate once here, so the two children race on requests, not on creating the schema.
  openStore(dbPath).close();
  urls.push(...(await Promise.all([startChild(), startChild()])));
}, 60_000);

afterAll(async () => {
  const codes = await Promise.all(children.map((c) => new Promise<number | null>((r) => {
    if (c.exitCode !== null) return r(c.exitCode);
    c.once('exit', (code) => r(code));
    c.kill('SIGTERM');
  })));
  // serveUntilSignal closed cleanly on SIGTERM: the process ran to its end.
  expect(codes).toEqual([0, 0]);
  for (const c of children) expect(outputs.get(c)!()).toMatch(/serve stopping \(SIGTERM\)\nclosed\n$/);
});

describe('two processes, one database', () => {
  it('spends a confirmation token exactly once', async () => {
    const db = openStore(dbPath);
    const q = createQueries(db, LIST);
    const nonce = 'R'.repeat(22);
    const expires = Math.floor(Date.now() / 1000) + 3600;
    q.requestSubscription('race@example.org', nonce, new Date().toISOString(), new Date(expires * 1000).toISOString());
    db.close();
    const token = confirmToken(SECRET, LIST, nonce, expires, 'race@example.org');
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`${urls[i % 2]}/confirm`, { token }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const check = openStore(dbPath);
    expect(check.prepare(`SELECT COUNT(*) AS n FROM audit WHERE event = 'confirmed'`).get()).toEqual({ n: 1 });
    check.close();
  });

  it('concurrent subscribes and one-clicks of the same addresses leave one row each', async () => {
    const emails = Array.from({ length: 10 }, (_, i) => `both${i}@example.org`);
    const subs = await Promise.all(emails.flatMap((email) => [0, 1, 2, 3].map((k) => post(`${urls[k % 2]}/subscribe`, { email }).then((r) => r.status))));
    expect(new Set(subs)).toEqual(new Set([202]));
    const db = openStore(dbPath);
    const rows = db.prepare(`SELECT address, COUNT(*) AS n FROM subscribers WHERE address LIKE 'both%' GROUP BY address`).all() as { n: number }[];
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(db.prepare(`SELECT COUNT(*) AS n FROM tokens t JOIN subscribers s ON s.id = t.subscriber_id WHERE s.address LIKE 'both%'`).get()).toEqual({ n: 40 });
    db.prepare(`UPDATE subscribers SET status = 'active' WHERE address LIKE 'both%'`).run();
    const outs = await Promise.all(emails.flatMap((email) => [0, 1].map((k) => post(`${urls[k]}/unsubscribe?token=${unsubscribeToken(LIST, email, SECRET)}`, 'List-Unsubscribe=One-Click').then((r) => r.status))));
    expect(new Set(outs)).toEqual(new Set([200]));
    expect(db.prepare(`SELECT COUNT(*) AS n FROM subscribers WHERE address LIKE 'both%' AND status = 'unsubscribed'`).get()).toEqual({ n: 10 });
    // Each address's unsubscribe applied once, whichever process got there first.
    expect(db.prepare(`SELECT COUNT(*) AS n FROM audit WHERE event = 'unsubscribed' AND masked = 'b***@e***.org'`).get()).toEqual({ n: 10 });
    db.close();
  });
});
