/**
 * The whole subscription loop with real parts, all on 127.0.0.1: the archive's own /subscribe/ page (built by
 * Eleventy with subscribeUrl set) in headless Chromium → the service → a real SMTP server (smtp-server)
 * receiving the confirmation through the deliver step's SMTP transport → the browser opens the link and
 * presses confirm → the address is in the next send (deliver(), addresses from /export) → a one-click POST to
 * that email's List-Unsubscribe URL → the send after that skips it.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { axeSeriousViolations, launchChromium } from '../helpers/browser.js';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArchive } from '../../src/pipeline.js';
import { renderEmail } from '../../src/render/email.js';
import { deliver } from '../../src/deliver/send.js';
import { createJsonTransport } from '../../src/deliver/transports.js';
import { parseSubscribers } from '../../src/deliver/subscribers.js';
import type { Digest } from '../../src/model.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { activeSubscribers, dumpTables, openStore } from '../../src/serve/store.js';
import { unsubscribeToken } from '../../src/deliver/subscribers.js';
import { EXPORT_TOKEN, get, post, SECRET, tempDb, testConfig, waitFor } from './helpers.js';

const ROOT = path.resolve(__dirname, '../..');

let smtp: SMTPServer;
let smtpPort = 0;
const received: { to: string[]; raw: Buffer }[] = [];
let service: RunningServer;
let dbPath: string;
let site: http.Server;
let siteUrl = '';
let browser: Browser | null = null;
const logs: string[] = [];

/** A static file server for the built archive. */
function serveDir(dir: string): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let file = path.join(dir, decodeURIComponent(u.pathname));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (file.endsWith('/')) file = path.join(file, 'index.html');
    try {
      const body = await readFile(file);
      const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  dbPath = await tempDb();
  // The service first (its port goes into the archive's form), then the archive built against it.
  service = await startServer({
    host: '127.0.0.1',
    port: 0,
    config: testConfig({ url: 'http://127.0.0.1' }),
    env: { UNSUBSCRIBE_SECRET: SECRET, EXPORT_TOKEN, SMTP_URL: `smtp://127.0.0.1:${smtpPort}?ignoreTLS=true` },
    databasePath: dbPath,
    log: (l) => logs.push(l),
  });
  const work = await mkdtemp(path.join(os.tmpdir(), 'dd-serve-site-'));
  const siteDir = path.join(work, '_site');
  await buildArchive({
    digestsDir: path.join(work, 'digests'),
    siteDir,
    sourcesDir: path.join(ROOT, 'sources'),
    dryRun: false,
    env: {},
    config: testConfig({ url: 'http://127.0.0.1', subscribeUrl: `${service.url}/subscribe` }),
  });
  ({ server: site, url: siteUrl } = await serveDir(siteDir));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await new Promise<void>((r) => (site ? site.close(() => r()) : r()));
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
});

async function lastMailTo(address: string): Promise<ParsedMail> {
  const m = await waitFor(() => [...received].reverse().find((r) => r.to.includes(address)), 10_000, `SMTP delivery to ${address}`);
  return simpleParser(m.raw);
}

/** Send one issue to the service's exported list through an in-memory transport; who got it? */
async function sendIssue(digest: Digest, ledgerDir: string): Promise<{ to: string; raw: string }[]> {
  const exported = await get(`${service.url}/export`, { authorization: `Bearer ${EXPORT_TOKEN}` });
  expect(exported.status).toBe(200);
  const config = testConfig({ url: 'http://127.0.0.1' }, { unsubscribeUrl: `${service.url}/unsubscribe` });
  const { subscribers, problems } = parseSubscribers(exported.text, 'export', config.email.listId);
  expect(problems).toEqual([]);
  const rendered = await renderEmail(digest, config, { webUrl: `${siteUrl}/issues/${digest.id}/`, archiveUrl: `${siteUrl}/` });
  const transport = createJsonTransport();
  await deliver({ digest, rendered, config, subscribers, transport, ledgerDir, now: new Date('2026-11-30T10:00:00Z'), dryRun: false, secret: SECRET, dkim: null, env: {} });
  return transport.messages.map((m) => ({ to: m.to, raw: m.raw ?? '' }));
}

describe('subscribe on the archive page → confirm by email → one-click unsubscribe', () => {
  it('runs the whole loop in headless Chromium against real SMTP', async () => {
    const address = 'reader@example.org';
    const page = await browser!.newPage();
    try {
      await page.goto(`${siteUrl}/subscribe/`);
      await page.fill('input[name="email"]', address);
      await Promise.all([page.waitForURL(`${service.url}/subscribe`), page.click('form.subscribe-form button[type="submit"]')]);
      expect(await page.textContent('h1')).toBe('Check your inbox');
      expect(activeSubscribers(dbPath)).not.toContain(address);

      // The confirmation arrives at the SMTP server; a scanner GETs every link: nothing changes.
      const mail = await lastMailTo(address);
      expect(mail.subject).toContain('Confirm your subscription');
      const html = typeof mail.html === 'string' ? mail.html : '';
      const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
      const confirmUrl = links.find((l) => l.startsWith(`${service.url}/confirm?token=`));
      expect(confirmUrl).toBeTruthy();
      expect(mail.text).toContain(confirmUrl);
      const db = openStore(dbPath);
      try {
        const before = JSON.stringify(dumpTables(db));
        for (const l of links) if (l.startsWith(service.url)) await get(l);
        expect(JSON.stringify(dumpTables(db))).toBe(before);
      } finally {
        db.close();
      }
      expect(activeSubscribers(dbPath)).not.toContain(address);

      // Open it in the browser and press the button.
      await page.goto(confirmUrl!);
      expect(await page.textContent('h1')).toBe('Confirm your subscription');
      await Promise.all([page.waitForURL(`${service.url}/confirm`), page.click('button[type="submit"]')]);
      expect(await page.textContent('h1')).toBe('Subscribed');
      expect(activeSubscribers(dbPath)).toEqual([address]);

      // The next send includes the address; its List-Unsubscribe URL is the service's.
      const realistic = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/digests/realistic.json'), 'utf8')) as Digest;
      const ledgerDir = await mkdtemp(path.join(os.tmpdir(), 'dd-serve-ledger-'));
      const first = await sendIssue(realistic, ledgerDir);
      expect(first.map((m) => m.to)).toEqual([address]);
      const issueMail = await simpleParser(first[0]!.raw);
      // The raw header line (mailparser's structured form of List-Unsubscribe varies by shape).
      const listUnsub = issueMail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
      const headerUrl = /<(http[^>]+)>/.exec(listUnsub.replace(/\s+/g, ''))?.[1];
      expect(headerUrl?.startsWith(`${service.url}/unsubscribe?token=`)).toBe(true);

      // GET on the unsubscribe link (a scanner, or the reader) shows a button and changes nothing.
      expect(activeSubscribers(dbPath)).toEqual([address]);
      await page.goto(headerUrl!);
      expect(await page.textContent('h1')).toBe('Unsubscribe');
      expect(activeSubscribers(dbPath)).toEqual([address]);

      // What Gmail does: POST List-Unsubscribe=One-Click to the header's URL, no cookies.
      const oneClick = await fetch(headerUrl!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click', redirect: 'manual' });
      expect(oneClick.status).toBe(200);
      expect(activeSubscribers(dbPath)).toEqual([]);

      // The send after that skips it.
      const next = await sendIssue({ ...realistic, id: `${realistic.id}-next`, number: realistic.number + 1 }, ledgerDir);
      expect(next).toEqual([]);
      expect(logs.filter((l) => l.startsWith('audit ')).join('\n')).toMatch(/subscribe-requested\(pending\) r\*\*\*@e\*\*\*\.org\naudit confirmed r\*\*\*@e\*\*\*\.org\naudit unsubscribed r\*\*\*@e\*\*\*\.org/);
    } finally {
      await page.close();
    }
  }, 120_000);
});


describe('the service\'s pages', () => {
  it('have no serious axe-core violations (form, confirm, unsubscribe, error)', async () => {
    const address = 'axe@example.org';
    expect((await post(`${service.url}/subscribe`, { email: address })).status).toBe(202);
    const mail = await lastMailTo(address);
    const confirmUrl = /https?:\/\/\S+\/confirm\?token=\S+/.exec(mail.text ?? '')![0];
    // axe is a script: our CSP (rightly) forbids it, so this context bypasses CSP; the loop above runs with it.
    const context = await browser!.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      const pages: [string, string][] = [
        [`${service.url}/`, 'Subscribe'],
        [confirmUrl, 'Confirm your subscription'],
        [`${service.url}/unsubscribe?token=${unsubscribeToken('debate-digest.example.org', address, SECRET)}`, 'Unsubscribe'],
        [`${service.url}/confirm?token=forged`, 'Sorry'],
      ];
      for (const [url, h1] of pages) {
        await page.goto(url);
        expect(await page.textContent('h1')).toBe(h1);
        expect(await axeSeriousViolations(page), url).toEqual([]);
      }
    } finally {
      await context.close();
    }
  }, 60_000);
});
