import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { createJsonTransport } from '../../src/deliver/transports.js';
import { readExportedSubscribers } from '../../src/serve/client.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { createQueries, openStore } from '../../src/serve/store.js';
import { EXPORT_TOKEN, SECRET, tempDb, testConfig } from './helpers.js';

const LIST = 'debate-digest.example.org';
let server: RunningServer;
let dbPath: string;

beforeAll(async () => {
  dbPath = await tempDb();
  const db = openStore(dbPath);
  const q = createQueries(db, LIST);
  for (const [i, email] of ['one@example.org', 'two@example.org', 'gone@example.org'].entries()) {
    const row = q.requestSubscription(email, String(i).repeat(22), '2026-11-30T00:00:00Z', '2026-12-02T00:00:00Z');
    q.confirm(String(i).repeat(22), row.id, '2026-11-30T00:01:00Z');
    if (email.startsWith('gone')) q.unsubscribe(row.id, '2026-11-30T00:02:00Z', 'test');
  }
  db.close();
  server = await startServer({ host: '127.0.0.1', port: 0, config: testConfig(), env: { UNSUBSCRIBE_SECRET: SECRET, EXPORT_TOKEN }, databasePath: dbPath, transport: createJsonTransport(), log: () => {} });
});
afterAll(async () => {
  await server?.close();
});

const fail = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DigestError);

describe('readExportedSubscribers', () => {
  it('reads the active list (not the unsubscribed) with the deliver step\'s hashes', async () => {
    const r = await readExportedSubscribers({ SUBSCRIBERS_URL: `${server.url}/export`, EXPORT_TOKEN }, LIST);
    expect(r.subscribers.map((s) => s.email)).toEqual(['one@example.org', 'two@example.org']);
    expect(r.problems).toEqual([]);
    expect(r.subscribers[0]!.masked).toBe('o***@e***.org');
  });

  it('a wrong token, a wrong URL, a stopped service or a missing variable is an error, never an empty list', async () => {
    const wrong = await fail(readExportedSubscribers({ SUBSCRIBERS_URL: `${server.url}/export`, EXPORT_TOKEN: 'nope' }, LIST));
    expect(wrong?.code).toBe('SUBSCRIBERS_UNAVAILABLE');
    expect(wrong?.message).toContain('401');
    const notCsv = await fail(readExportedSubscribers({ SUBSCRIBERS_URL: `${server.url}/`, EXPORT_TOKEN }, LIST));
    expect(notCsv?.code).toBe('SUBSCRIBERS_UNAVAILABLE');
    const down = await fail(readExportedSubscribers({ SUBSCRIBERS_URL: 'http://127.0.0.1:9/export', EXPORT_TOKEN }, LIST));
    expect(down?.code).toBe('SUBSCRIBERS_UNAVAILABLE');
    const noToken = await fail(readExportedSubscribers({ SUBSCRIBERS_URL: `${server.url}/export` }, LIST));
    expect(noToken?.code).toBe('ENV_MISSING');
    expect(noToken?.message).toContain('EXPORT_TOKEN');
  });
});

describe('the sending step with SUBSCRIBERS_URL', () => {
  it('sends to the service\'s active list, read afresh: an unsubscribe since the last read is honoured', async () => {
    const { makeIssue, sendIssue } = await import('../../src/pipeline.js');
    const { tempProject, listFiles } = await import('../helpers/project.js');
    const { simpleParser } = await import('mailparser');
    const { readFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const dir = await tempProject({ dropped: { 'note.md': '“We are squarely an age of research company,” Ilya Sutskever said of SSI.\n' } });
    const paths = { sourcesDir: path.join(dir, 'sources'), digestsDir: path.join(dir, 'digests'), siteDir: path.join(dir, '_site'), outboxDir: path.join(dir, 'outbox') };
    const env = { SUBSCRIBERS_URL: `${server.url}/export`, EXPORT_TOKEN, UNSUBSCRIBE_SECRET: SECRET };
    const now = new Date('2026-11-30T07:00:00Z');
    const made = await makeIssue({ ...paths, now, dryRun: false, force: false, env });
    expect(made.digest).toBeTruthy();
    // 'two' unsubscribes after the list was first read above, before this send.
    const db = openStore(dbPath);
    const q = createQueries(db, LIST);
    const two = db.prepare<[string], { id: number }>('SELECT id FROM subscribers WHERE address = ?').get('two@example.org');
    expect(q.unsubscribe(two?.id ?? -1, '2026-11-30T06:00:00Z', 'test')).toBe(true);
    db.close();
    const sent = await sendIssue({ ...paths, now, dryRun: false, force: false, env });
    expect(sent.delivery?.written).toBe(1);
    const emls = (await listFiles(paths.outboxDir)).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(1);
    const mail = await simpleParser(await readFile(path.join(paths.outboxDir, emls[0] as string)));
    expect(Array.isArray(mail.to) ? mail.to[0]?.text : mail.to?.text).toBe('one@example.org');
  });
});
