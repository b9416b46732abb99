/**
 * The subscription service over real HTTP on 127.0.0.1, a real SQLite file, and the deliver step's in-memory
 * transport (the SMTP path has its own test: flow.test.ts). Every refused request is checked against a dump of
 * the whole database taken before it: a 4xx must change nothing.
 */
import http from 'node:http';
import net from 'node:net';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { createJsonTransport, type JsonTransport } from '../../src/deliver/transports.js';
import { parseSubscribers, unsubscribeToken } from '../../src/deliver/subscribers.js';
import { ipKey, startServer, type RunningServer } from '../../src/serve/server.js';
import { activeSubscribers, dumpTables, openStore, type Db } from '../../src/serve/store.js';
import { confirmToken } from '../../src/serve/tokens.js';
import { clock, EXPORT_TOKEN, get, post, SECRET, tempDb, testConfig, waitFor } from './helpers.js';

const LIST = 'debate-digest.example.org';
const config = testConfig();
const c = clock();
let server: RunningServer;
let transport: JsonTransport;
let dbPath: string;
let db: Db;
const logs: string[] = [];

beforeAll(async () => {
  dbPath = await tempDb();
  transport = createJsonTransport();
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    config,
    env: { UNSUBSCRIBE_SECRET: SECRET, EXPORT_TOKEN },
    databasePath: dbPath,
    now: c.now,
    transport,
    log: (l) => logs.push(l),
    // Every request here comes from 127.0.0.1: the per-IP limit has its own test below.
    limits: { perIp: { max: 10_000, windowSeconds: 600 } },
  });
  db = openStore(dbPath);
});

afterAll(async () => {
  db?.close();
  await server?.close();
});

const dump = () => JSON.stringify(dumpTables(db));

/** The confirmation link in the last email sent to `to`, found by parsing the message as a mail client would. */
async function confirmLink(to: string): Promise<{ url: string; token: string; links: string[] }> {
  const msg = await waitFor(() => [...transport.messages].reverse().find((m) => m.to === to), 5000, `mail to ${to}`);
  const parsed = await simpleParser(msg.raw!);
  const text = parsed.text ?? '';
  const html = typeof parsed.html === 'string' ? parsed.html : '';
  const links = [...new Set([...text.matchAll(/https?:\/\/[^\s<>"]+/g), ...html.matchAll(/href="([^"]+)"/g)].map((m) => (m[1] ?? m[0]).replace(/&amp;/g, '&')))];
  const url = links.find((l) => l.includes('/confirm?token='));
  if (!url) throw new Error(`no confirmation link in: ${text}`);
  return { url, token: new URL(url).searchParams.get('token')!, links };
}

async function subscribeAndConfirm(email: string): Promise<void> {
  const before = transport.messages.length;
  expect((await post(`${server.url}/subscribe`, { email })).status).toBe(202);
  await waitFor(() => (transport.messages.length > before ? true : undefined), 5000, 'confirmation mail');
  const { token } = await confirmLink(email);
  expect((await post(`${server.url}/confirm`, `token=${encodeURIComponent(token)}`)).status).toBe(200);
}

describe('startServer', () => {
  it('refuses to start without UNSUBSCRIBE_SECRET, naming the variable', async () => {
    const err = await startServer({ host: '127.0.0.1', port: 0, config, env: {}, databasePath: await tempDb() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('ENV_MISSING');
    expect((err as DigestError).message).toContain('UNSUBSCRIBE_SECRET');
  });

  it('a port already in use is a DigestError naming host:port, and leaves nothing open', async () => {
    const port = Number(new URL(server.url).port);
    const err = await startServer({ host: '127.0.0.1', port, config, env: { UNSUBSCRIBE_SECRET: SECRET }, databasePath: await tempDb(), transport: createJsonTransport(), log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).origin).toBe(`127.0.0.1:${port}`);
    expect((err as DigestError).hint).toContain('--port');
  });

  it('answers /healthz with the schema version', async () => {
    const r = await get(`${server.url}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ ok: true, schema: 1 });
  });
});

describe('double opt-in', () => {
  it('subscribe → email → GET shows a button and changes nothing → POST activates', async () => {
    const email = 'alice@example.com';
    const r = await post(`${server.url}/subscribe`, `email=${encodeURIComponent(email)}`);
    expect(r.status).toBe(202);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect(activeSubscribers(dbPath)).not.toContain(email);
    const { url, token } = await confirmLink(email);
    expect(url.startsWith(`${server.url}/confirm?token=`)).toBe(true);

    const before = dump();
    const page = await get(url);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<form method="post" action="confirm">');
    expect(page.text).toContain('a***@e***.com');
    expect(page.text).not.toContain(email);
    expect(dump()).toBe(before);

    const done = await post(`${server.url}/confirm`, `token=${encodeURIComponent(token)}`);
    expect(done.status).toBe(200);
    expect(activeSubscribers(dbPath)).toContain(email);
    expect(logs.some((l) => l === 'audit confirmed a***@e***.com')).toBe(true);
  });

  it('answers the same whether the address is new, pending or active (no enumeration)', async () => {
    await subscribeAndConfirm('known@example.com');
    const known = await post(`${server.url}/subscribe`, { email: 'known@example.com' });
    const fresh = await post(`${server.url}/subscribe`, { email: 'never-seen@example.com' });
    const pending = await post(`${server.url}/subscribe`, { email: 'never-seen@example.com' });
    expect(known.status).toBe(202);
    expect([fresh.status, pending.status]).toEqual([202, 202]);
    expect(fresh.text).toBe(known.text);
    expect(pending.text).toBe(known.text);
  });

  it('keeps addresses out of the audit table and the log (masked only)', () => {
    const audit = db.prepare('SELECT * FROM audit').all() as { masked: string; detail: string }[];
    expect(audit.length).toBeGreaterThan(0);
    for (const row of audit) expect(`${row.masked} ${row.detail}`).not.toMatch(/[a-z0-9-]+@[a-z0-9-]+\.[a-z]+/i);
    for (const line of logs) expect(line).not.toMatch(/(alice|known|never-seen)@/);
  });

  it('GET on every link of the confirmation email changes nothing', async () => {
    const email = 'scanned@example.com';
    await post(`${server.url}/subscribe`, { email });
    const { links } = await confirmLink(email);
    expect(links.length).toBeGreaterThan(1);
    const before = dump();
    for (const link of links) {
      // Off-site links (the archive) are not ours to fetch; every link to the service is.
      if (!link.startsWith(server.url)) continue;
      const r = await get(link);
      expect(r.status).toBe(200);
      // A second GET (scanners retry) still changes nothing.
      await get(link);
    }
    expect(dump()).toBe(before);
    expect(activeSubscribers(dbPath)).not.toContain(email);
  });
});

describe('RFC 8058 one-click unsubscribe', () => {
  it('POST with the deliver step\'s token unsubscribes at once, answers 200, sets no cookie; GET only shows a button', async () => {
    const email = 'bob@example.net';
    await subscribeAndConfirm(email);
    const token = unsubscribeToken(LIST, email, SECRET);
    const link = `${server.url}/unsubscribe?token=${encodeURIComponent(token)}`;

    const before = dump();
    const page = await get(link);
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(dump()).toBe(before);
    expect(activeSubscribers(dbPath)).toContain(email);

    const r = await post(link, 'List-Unsubscribe=One-Click');
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect(activeSubscribers(dbPath)).not.toContain(email);
    const row = db.prepare('SELECT status, unsubscribed_at FROM subscribers WHERE address = ?').get(email) as { status: string; unsubscribed_at: string };
    expect(row.status).toBe('unsubscribed');

    // A second one-click (the provider retries) is still 200 and changes nothing.
    const after = dump();
    expect((await post(link, 'List-Unsubscribe=One-Click')).status).toBe(200);
    expect(dump()).toBe(after);
  });

  it('accepts the multipart body some providers send', async () => {
    const email = 'multi@example.net';
    await subscribeAndConfirm(email);
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(`${server.url}/unsubscribe?token=${encodeURIComponent(unsubscribeToken(LIST, email, SECRET))}`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(activeSubscribers(dbPath)).not.toContain(email);
  });

  it('a confirmed re-subscription after unsubscribing makes the address active again', async () => {
    await subscribeAndConfirm('bob@example.net');
    expect(activeSubscribers(dbPath)).toContain('bob@example.net');
  });
});

describe('bad input: a clear 4xx and the database unchanged', () => {
  const big = 'email=' + 'a'.repeat(20_000) + '%40example.com';
  const cases: { name: string; send: () => Promise<{ status: number; text: string }>; status: number; error?: string }[] = [
    { name: 'malformed address (no @)', send: () => post(`${server.url}/subscribe`, 'email=not-an-address'), status: 400, error: 'email-invalid' },
    { name: 'malformed address (display name)', send: () => post(`${server.url}/subscribe`, { email: 'Eve <eve@example.com>' }), status: 400, error: 'email-invalid' },
    { name: 'malformed address (two @)', send: () => post(`${server.url}/subscribe`, { email: 'a@b@example.com' }), status: 400, error: 'email-invalid' },
    { name: 'malformed address (comma list)', send: () => post(`${server.url}/subscribe`, { email: 'a@example.com,b@example.com' }), status: 400, error: 'email-invalid' },
    { name: 'address not a string', send: () => post(`${server.url}/subscribe`, { email: ['a@example.com'] }), status: 400, error: 'email-invalid' },
    { name: 'missing address', send: () => post(`${server.url}/subscribe`, 'name=x'), status: 400, error: 'email-missing' },
    { name: 'header injection: CRLF + Bcc (form)', send: () => post(`${server.url}/subscribe`, 'email=victim%40example.com%0D%0ABcc%3A%20all%40example.com'), status: 400, error: 'header-injection' },
    { name: 'header injection: trailing CRLF (JSON)', send: () => post(`${server.url}/subscribe`, { email: 'victim@example.com\r\n' }), status: 400, error: 'header-injection' },
    { name: 'header injection: bare LF', send: () => post(`${server.url}/subscribe`, { email: 'victim@example.com\nSubject: hi' }), status: 400, error: 'header-injection' },
    { name: 'NUL byte', send: () => post(`${server.url}/subscribe`, { email: 'victim@example.com\u0000' }), status: 400, error: 'email-invalid' },
    { name: 'oversized body (declared length)', send: () => post(`${server.url}/subscribe`, big), status: 413, error: 'body-too-large' },
    {
      name: 'oversized body (chunked, no length)',
      send: async () => {
        const chunks = [Buffer.from('email='), Buffer.alloc(40_000, 0x61)];
        const body = new ReadableStream({ start(ctl) { for (const ch of chunks) ctl.enqueue(ch); ctl.close(); } });
        const res = await fetch(`${server.url}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, duplex: 'half' } as RequestInit);
        return { status: res.status, text: await res.text() };
      },
      status: 413,
      error: 'body-too-large',
    },
    { name: 'invalid JSON', send: () => post(`${server.url}/subscribe`, '{"email":', { 'content-type': 'application/json' }), status: 400, error: 'bad-json' },
    { name: 'unsupported content type', send: () => post(`${server.url}/subscribe`, 'email=a@example.com', { 'content-type': 'text/plain' }), status: 415, error: 'unsupported-type' },
    { name: 'GET /subscribe', send: () => get(`${server.url}/subscribe`), status: 405, error: 'method-not-allowed' },
    { name: 'forged confirmation token (random)', send: () => post(`${server.url}/confirm`, { token: 'AAAAAAAAAAAAAAAAAAAAAA.9999999999.' + 'A'.repeat(43) }), status: 400, error: 'token-invalid' },
    { name: 'forged confirmation token (garbage)', send: () => post(`${server.url}/confirm`, { token: '../../etc/passwd' }), status: 400, error: 'token-invalid' },
    { name: 'confirmation token missing', send: () => post(`${server.url}/confirm`, 'x=1'), status: 400, error: 'token-invalid' },
    { name: 'forged confirmation token on GET', send: () => get(`${server.url}/confirm?token=nope`), status: 400 },
    { name: 'forged unsubscribe token (right shape, wrong MAC)', send: () => post(`${server.url}/unsubscribe?token=${unsubscribeToken(LIST, 'alice@example.com', 'wrong-secret')}`, 'List-Unsubscribe=One-Click'), status: 400, error: 'token-invalid' },
    { name: 'forged unsubscribe token (garbage)', send: () => post(`${server.url}/unsubscribe?token=x`, 'List-Unsubscribe=One-Click'), status: 400, error: 'token-invalid' },
    { name: 'unsubscribe without token', send: () => post(`${server.url}/unsubscribe`, 'List-Unsubscribe=One-Click'), status: 400, error: 'token-invalid' },
    { name: 'unsubscribe token of another list', send: () => post(`${server.url}/unsubscribe?token=${unsubscribeToken('other.example.org', 'alice@example.com', SECRET)}`, 'List-Unsubscribe=One-Click'), status: 400, error: 'token-invalid' },
    { name: 'export without a token', send: () => get(`${server.url}/export`), status: 401 },
    { name: 'export with a wrong token', send: () => get(`${server.url}/export`, { authorization: 'Bearer nope' }), status: 401 },
    { name: 'unknown path', send: () => get(`${server.url}/admin`), status: 404 },
  ];

  for (const tc of cases) {
    it(tc.name, async () => {
      const before = dump();
      const sent = transport.messages.length;
      const r = await tc.send();
      expect(r.status).toBe(tc.status);
      if (tc.error) expect(r.text).toContain(tc.error);
      expect(dump()).toBe(before);
      expect(transport.messages.length).toBe(sent);
    });
  }

  it('a confirmation token moved to another address is refused', async () => {
    await post(`${server.url}/subscribe`, { email: 'carol@example.com' });
    const { token } = await confirmLink('carol@example.com');
    const [nonce, exp] = token.split('.');
    const moved = confirmToken(SECRET, LIST, nonce!, Number(exp), 'mallory@example.com');
    const extended = `${nonce}.${Number(exp) + 86400}.${token.split('.')[2]}`;
    const before = dump();
    for (const t of [moved, extended]) {
      const r = await post(`${server.url}/confirm`, { token: t });
      expect(r.status).toBe(400);
    }
    expect(dump()).toBe(before);
  });

  it('a replayed confirmation is 409 and changes nothing', async () => {
    await post(`${server.url}/subscribe`, { email: 'dave@example.com' });
    const { token } = await confirmLink('dave@example.com');
    expect((await post(`${server.url}/confirm`, { token })).status).toBe(200);
    const before = dump();
    const again = await post(`${server.url}/confirm`, { token });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.text).error).toBe('token-used');
    const page = await get(`${server.url}/confirm?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(409);
    expect(dump()).toBe(before);
  });

  it('a replayed confirmation after an unsubscribe does not re-activate the address', async () => {
    await post(`${server.url}/subscribe`, { email: 'erin@example.com' });
    const { token } = await confirmLink('erin@example.com');
    expect((await post(`${server.url}/confirm`, { token })).status).toBe(200);
    expect((await post(`${server.url}/unsubscribe?token=${unsubscribeToken(LIST, 'erin@example.com', SECRET)}`, 'List-Unsubscribe=One-Click')).status).toBe(200);
    const before = dump();
    expect((await post(`${server.url}/confirm`, { token })).status).toBe(409);
    expect(dump()).toBe(before);
    expect(activeSubscribers(dbPath)).not.toContain('erin@example.com');
  });

  it('an expired confirmation is 410 (GET and POST) and changes nothing', async () => {
    await post(`${server.url}/subscribe`, { email: 'frank@example.com' });
    const { token } = await confirmLink('frank@example.com');
    c.advance(48 * 3600 * 1000 + 1000);
    const before = dump();
    expect((await get(`${server.url}/confirm?token=${encodeURIComponent(token)}`)).status).toBe(410);
    const r = await post(`${server.url}/confirm`, `token=${encodeURIComponent(token)}`);
    expect(r.status).toBe(410);
    expect(r.text).toContain('token-expired');
    expect(dump()).toBe(before);
    expect(activeSubscribers(dbPath)).not.toContain('frank@example.com');
  });
});

describe('export, CORS and rate limits', () => {
  it('exports the active list as CSV the deliver step parses, and as JSON', async () => {
    const csv = await get(`${server.url}/export`, { authorization: `Bearer ${EXPORT_TOKEN}` });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const parsed = parseSubscribers(csv.text, 'export', LIST);
    expect(parsed.problems).toEqual([]);
    expect(parsed.subscribers.map((s) => s.email).sort()).toEqual(activeSubscribers(dbPath).sort());
    expect(parsed.subscribers.map((s) => s.email)).toContain('alice@example.com');
    const json = await get(`${server.url}/export`, { authorization: `Bearer ${EXPORT_TOKEN}`, accept: 'application/json' });
    expect(JSON.parse(json.text).subscribers).toEqual(activeSubscribers(dbPath));
  });

  it('allows the archive origin to POST /subscribe (preflight), and no other', async () => {
    const ok = await fetch(`${server.url}/subscribe`, { method: 'OPTIONS', headers: { origin: 'https://archive.example.org', 'access-control-request-method': 'POST' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://archive.example.org');
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
    const evil = await fetch(`${server.url}/subscribe`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const posted = await post(`${server.url}/subscribe`, { email: 'cors@example.com' }, { origin: 'https://archive.example.org' });
    expect(posted.headers.get('access-control-allow-origin')).toBe('https://archive.example.org');
  });

  it('behind a proxy (TRUST_PROXY=1) limits by the last X-Forwarded-For entry', async () => {
    const s3 = await startServer({
      host: '127.0.0.1', port: 0, config, env: { UNSUBSCRIBE_SECRET: SECRET, TRUST_PROXY: '1' }, databasePath: await tempDb(), now: clock().now, transport: createJsonTransport(), log: () => {},
      limits: { perIp: { max: 1, windowSeconds: 600 } },
    });
    try {
      const send = (xff: string, email: string) => post(`${s3.url}/subscribe`, { email }, { 'x-forwarded-for': xff }).then((r) => r.status);
      expect(await send('198.51.100.1', 'p1@example.com')).toBe(202);
      expect(await send('198.51.100.1', 'p2@example.com')).toBe(429);
      // The client may prepend anything; only the entry our proxy appended counts.
      expect(await send('10.0.0.1, 198.51.100.1', 'p3@example.com')).toBe(429);
      expect(await send('198.51.100.1, 198.51.100.2', 'p4@example.com')).toBe(202);
    } finally {
      await s3.close();
    }
  });

  it('limits per address and per IP with 429 and Retry-After, whether or not the address is known', async () => {
    const path2 = await tempDb();
    const t2 = createJsonTransport();
    const s2 = await startServer({
      host: '127.0.0.1', port: 0, config, env: { UNSUBSCRIBE_SECRET: SECRET }, databasePath: path2, now: clock().now, transport: t2, log: () => {},
      limits: { perIp: { max: 5, windowSeconds: 600 }, perAddress: { max: 2, windowSeconds: 3600 } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await post(`${s2.url}/subscribe`, { email: 'target@example.com' })).status);
      expect(statuses).toEqual([202, 202, 429]);
      const r = await post(`${s2.url}/subscribe`, { email: 'target@example.com' });
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
      // Two mails only: the limit is what stops mail-bombing an address through us.
      await waitFor(() => (t2.messages.length === 2 ? true : undefined), 5000, 'two mails');
      // Per IP: 4 requests counted so far (the 4th over the address limit still counts for the IP).
      expect((await post(`${s2.url}/subscribe`, { email: 'other1@example.com' })).status).toBe(202);
      const ip = await post(`${s2.url}/subscribe`, { email: 'other2@example.com' });
      expect(ip.status).toBe(429);
      expect(ip.headers.get('retry-after')).toMatch(/^\d+$/);
      // Without TRUST_PROXY a forged X-Forwarded-For changes nothing.
      expect((await post(`${s2.url}/subscribe`, { email: 'other3@example.com' }, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    } finally {
      await s2.close();
    }
    expect(t2.messages.length).toBe(3);
  });
});

describe('ipKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s → %s', (ip, key) => {
    expect(ipKey(ip)).toBe(key);
  });
});

describe('raw HTTP', () => {
  it('an unparseable request target is a 400, and the service keeps running', async () => {
    const u = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(Number(u.port), u.hostname, () => sock.write('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let out = '';
      sock.on('data', (c) => (out += c.toString()));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('links in the confirmation email', () => {
  it.each([
    [{ subscribeUrl: 'https://subs.example.org/subscribe' }, {}, 'https://subs.example.org/confirm?token='],
    [{ subscribeUrl: 'https://example.org/digest/subscribe' }, {}, 'https://example.org/digest/confirm?token='],
    [{ subscribeUrl: 'https://subs.example.org/subscribe' }, { SERVICE_URL: 'https://proxy.example.org/lists' }, 'https://proxy.example.org/lists/confirm?token='],
  ])('site %j, env %j → %s', async (site, env, prefix) => {
    const t = createJsonTransport();
    const s = await startServer({ host: '127.0.0.1', port: 0, config: testConfig(site), env: { UNSUBSCRIBE_SECRET: SECRET, ...env }, databasePath: await tempDb(), transport: t, log: () => {} });
    try {
      expect((await post(`${s.url}/subscribe`, { email: 'links@example.org' })).status).toBe(202);
      await s.settled();
      const parsed = await simpleParser(t.messages[0]!.raw!);
      const link = /https?:\/\/\S+\/confirm\?token=\S+/.exec(parsed.text ?? '')?.[0] ?? '';
      expect(link.startsWith(prefix), link).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('cut-off requests', () => {
  it('a client hanging up mid-body changes nothing', async () => {
    const u = new URL(server.url);
    const before = dump();
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(Number(u.port), u.hostname, () => {
        sock.write('POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"email":"cut');
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100);
      });
      sock.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(dump()).toBe(before);
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('close', () => {
  it('answers a request in flight, then stops listening and closes the database', async () => {
    const p = await tempDb();
    const t = createJsonTransport();
    const s = await startServer({ host: '127.0.0.1', port: 0, config, env: { UNSUBSCRIBE_SECRET: SECRET }, databasePath: p, transport: t, log: () => {} });
    const u = new URL(`${s.url}/subscribe`);
    const body = JSON.stringify({ email: 'late@example.org' });
    const answered = new Promise<number>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // Half the body now, the rest after close() has begun.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const closed = s.close();
    expect(await answered).toBe(202);
    await closed;
    expect(t.messages.map((m) => m.to)).toEqual(['late@example.org']);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
