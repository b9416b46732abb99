/**
 * A bounded load test of the subscription service, for `npm run bench`: autocannon against a real server on
 * 127.0.0.1 with a fresh SQLite file, then a count of the rows to prove nothing was lost or written twice.
 *
 *   phase 1  POST /subscribe        one distinct address per request (JSON body)
 *   (all accepted addresses are then marked active directly in the database, as confirmations would)
 *   phase 2  POST /unsubscribe      RFC 8058 one-click, one distinct deliver-step token per request
 *
 * Bounded twice: a request count per phase and a wall-clock cap per phase (autocannon is stopped at the cap).
 * Confirmation emails go to an in-memory transport (no network beyond 127.0.0.1, nothing kept but counts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ANALYZE, DEFAULT_EMAIL, DEFAULT_GATHER, DEFAULT_SITE } from '../config.js';
import type { Config } from '../model.js';
import { createJsonTransport } from '../deliver/transports.js';
import { unsubscribeToken } from '../deliver/subscribers.js';
import { startServer } from './server.js';
import { openStore } from './store.js';

export interface LoadTestOptions {
  /** Requests in each phase. Default 2000. */
  requests?: number;
  /** Concurrent connections. Default 16. */
  connections?: number;
  /** Wall-clock cap for each phase, in seconds. Default 30. */
  maxSeconds?: number;
  /** Where the database goes; default a temp file, removed afterwards. */
  databasePath?: string;
  /** The list's configuration (list id, sender, site); default a built-in example. */
  config?: Config;
}

export interface PhaseResult {
  /** Mean requests per second over the phase. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99ms: number;
  /** Requests answered. */
  requests: number;
  /** Answers that were not 2xx, plus socket errors and timeouts. */
  errors: number;
}

export interface LoadTestResult {
  subscribe: PhaseResult;
  unsubscribe: PhaseResult;
  /** Accepted requests whose effect is missing from the database (or confirmation emails not sent). */
  lost: number;
  /** Rows, tokens, emails or audit lines beyond one per accepted request. */
  duplicated: number;
}

interface Phase {
  result: PhaseResult;
  /** The key of each request answered 2xx (address or token), in answer order. */
  ok: string[];
}

type Autocannon = typeof import('autocannon');

/** One autocannon phase: `nextRequest` gives each request's key, path and body. */
async function runPhase(
  autocannon: Autocannon,
  url: string,
  o: { requests: number; connections: number; maxSeconds: number },
  nextRequest: (i: number) => { key: string; path: string; body: string; contentType: string },
): Promise<Phase> {
  let i = 0;
  const ok: string[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: o.connections,
        // One request in flight per connection: each answer is matched to the key its connection last sent.
        pipelining: 1,
        amount: o.requests,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
              const r = nextRequest(i++);
              context.key = r.key;
              return { ...req, method: 'POST', path: r.path, body: r.body, headers: { 'content-type': r.contentType, accept: 'application/json' } };
            },
            onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
              if (status >= 200 && status < 300) ok.push(String(context.key));
            },
          },
        ],
      } as unknown as Parameters<Autocannon>[0],
      (err: Error | null, result: import('autocannon').Result) => {
        clearTimeout(cap);
        if (err) {
          reject(err);
          return;
        }
        resolve({
          result: {
            // Total over wall time: autocannon's per-second average is coarse for phases of a few seconds.
            rps: Math.round(result.requests.total / Math.max(0.001, (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000)),
            p99ms: result.latency.p99,
            requests: result.requests.total,
            errors: result.non2xx + result.errors + result.timeouts,
          },
          ok,
        });
      },
    );
    const cap = setTimeout(() => instance.stop(), o.maxSeconds * 1000);
  });
}

function loadConfig(): Config {
  return {
    site: { ...DEFAULT_SITE, url: 'https://archive.example.org' },
    email: { ...DEFAULT_EMAIL, listId: 'load.debate-digest.example.org' },
    feeds: [],
    themes: [],
    speakers: [],
    gather: DEFAULT_GATHER,
    analyze: DEFAULT_ANALYZE,
  };
}

export async function loadTest(opts: LoadTestOptions = {}): Promise<LoadTestResult> {
  // autocannon is a dev dependency: loaded only when a benchmark runs.
  const autocannon = (await import('autocannon')).default as unknown as Autocannon;
  const o = { requests: Math.max(1, opts.requests ?? 2000), connections: Math.max(1, opts.connections ?? 16), maxSeconds: Math.max(1, opts.maxSeconds ?? 30) };
  const tmp = opts.databasePath ? null : await mkdtemp(path.join(os.tmpdir(), 'dd-load-'));
  const databasePath = opts.databasePath ?? path.join(tmp!, 'load.db');
  const secret = 'load-test-secret-not-for-production';
  const config = opts.config ?? loadConfig();
  const listId = config.email.listId;
  const transport = createJsonTransport({ keepRaw: false });
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    config,
    env: { UNSUBSCRIBE_SECRET: secret },
    databasePath,
    transport,
    log: () => {},
    // Everything comes from one IP and each address once: the limits would only measure themselves.
    limits: { perIp: { max: Number.MAX_SAFE_INTEGER, windowSeconds: 60 }, perAddress: { max: Number.MAX_SAFE_INTEGER, windowSeconds: 60 } },
  });
  const db = openStore(databasePath);
  try {
    const runId = Date.now().toString(36);
    const subscribe = await runPhase(autocannon, server.url, o, (i) => {
      const email = `load-${runId}-${i}@example.org`;
      return { key: email, path: '/subscribe', body: JSON.stringify({ email }), contentType: 'application/json' };
    });

    // Confirmation emails are built after the 202: let them finish so they do not slow the next phase.
    await server.settled();
    // What confirmations would do, without measuring them: every accepted address becomes active.
    db.prepare(`UPDATE subscribers SET status = 'active'`).run();
    const accepted = subscribe.ok;
    const none: Phase = { result: { rps: 0, p99ms: 0, requests: 0, errors: 0 }, ok: [] };
    // autocannon reads an amount of 0 as "no limit": with nothing accepted there is nothing to unsubscribe.
    const unsubscribe = accepted.length === 0 ? none : await runPhase(autocannon, server.url, { ...o, requests: Math.min(o.requests, accepted.length) }, (i) => {
      const email = accepted[i % Math.max(1, accepted.length)] ?? 'none@example.org';
      return { key: email, path: `/unsubscribe?token=${encodeURIComponent(unsubscribeToken(listId, email, secret))}`, body: 'List-Unsubscribe=One-Click', contentType: 'application/x-www-form-urlencoded' };
    });
    // Waits for confirmation emails still being built or sent.
    await server.close();

    const rows = new Map((db.prepare(`SELECT address, status FROM subscribers`).all() as { address: string; status: string }[]).map((r) => [r.address, r.status]));
    const tokens = db.prepare(`SELECT s.address, COUNT(*) AS n FROM tokens t JOIN subscribers s ON s.id = t.subscriber_id GROUP BY s.address`).all() as { address: string; n: number }[];
    const tokenCount = new Map(tokens.map((t) => [t.address, t.n]));
    const unsubAudit = (db.prepare(`SELECT COUNT(*) AS n FROM audit WHERE event = 'unsubscribed'`).get() as { n: number }).n;
    const mails = new Map<string, number>();
    for (const m of transport.messages) mails.set(m.to, (mails.get(m.to) ?? 0) + 1);

    let lost = 0;
    let duplicated = 0;
    const acceptedSet = new Set(accepted);
    duplicated += accepted.length - acceptedSet.size;
    for (const email of acceptedSet) {
      if (!rows.has(email) || (tokenCount.get(email) ?? 0) === 0 || (mails.get(email) ?? 0) === 0) lost++;
      duplicated += Math.max(0, (tokenCount.get(email) ?? 0) - 1) + Math.max(0, (mails.get(email) ?? 0) - 1);
    }
    // Rows nobody was told were accepted (a request cut off at the cap) are not duplicates, but rows beyond
    // the requests sent would be.
    duplicated += Math.max(0, rows.size - subscribe.result.requests - o.connections);
    const unsubscribed = new Set(unsubscribe.ok);
    duplicated += unsubscribe.ok.length - unsubscribed.size;
    for (const email of unsubscribed) if (rows.get(email) !== 'unsubscribed') lost++;
    // One audit line per address that changed: more means an unsubscribe was applied twice.
    duplicated += Math.max(0, unsubAudit - unsubscribed.size);

    return { subscribe: subscribe.result, unsubscribe: unsubscribe.result, lost, duplicated };
  } finally {
    await server.close();
    db.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
