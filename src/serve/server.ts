/**
 * `digest serve`: the subscription service the static archive cannot be (GitHub Pages answers POST with 405).
 *
 *   GET  /                  a subscribe form (the archive's /subscribe/ page posts the same field)
 *   POST /subscribe         email=… (form or JSON) → 202 and a confirmation email; same answer for any address
 *   GET  /confirm?token=    a page with a button (mail scanners GET every link: GET never changes anything)
 *   POST /confirm           token=… → the address is active (single use; expired 410, replayed 409)
 *   GET  /unsubscribe?token= a page with a button
 *   POST /unsubscribe?token= RFC 8058 one-click (body List-Unsubscribe=One-Click, no cookies) → 200
 *   GET  /export            Authorization: Bearer $EXPORT_TOKEN → the active list as CSV (or JSON)
 *   GET  /healthz
 *
 * No cookies are set, ever: every state change is authorised by an HMAC token (UNSUBSCRIBE_SECRET) or is a
 * request that only starts a double opt-in.
 *
 * Environment: UNSUBSCRIBE_SECRET (required; the same value the sending step signs unsubscribe links with),
 * DATABASE_PATH (default subscribers.db), EXPORT_TOKEN (enables /export), SMTP_URL (else confirmation emails
 * go to OUTBOX_DIR, default outbox/), DKIM_PRIVATE_KEY/DKIM_SELECTOR/DKIM_DOMAIN, SERVICE_URL (the public
 * base URL for links, when it is not the folder of site.subscribeUrl), TRUST_PROXY=1 (behind a reverse proxy:
 * the client IP is the last X-Forwarded-For entry).
 */
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv6, type AddressInfo } from 'node:net';
import { DigestError } from '../errors.js';
import type { Config } from '../model.js';
import { createTransport, type Transport } from '../deliver/transports.js';
import { maskAddress, normalizeAddress, tokenRecipient, verifyUnsubscribeToken } from '../deliver/subscribers.js';
import { addressKey, createQueries, openStore, type Queries, type SubscriberRow } from './store.js';
import { confirmToken, newNonce, parseConfirmToken, verifyConfirmMac } from './tokens.js';
import { createConfirmationMailer } from './mail.js';
import { dkimFromEnv } from '../deliver/headers.js';
import { confirmForm, page, p, subscribeForm, unsubscribeForm, type PageOptions } from './pages.js';

/** A fixed-window limit: at most `max` requests per `windowSeconds`. */
export interface Limit {
  max: number;
  windowSeconds: number;
}

export interface Limits {
  /** Subscribe requests per client IP. Default 20 per 10 minutes. */
  perIp: Limit;
  /** Confirmation emails per address. Default 3 per hour (nobody can mail-bomb an address through us). */
  perAddress: Limit;
}

export const DEFAULT_LIMITS: Limits = {
  perIp: { max: 20, windowSeconds: 600 },
  perAddress: { max: 3, windowSeconds: 3600 },
};

/** Request bodies larger than this are refused with 413: an address and a token fit in far less. */
export const MAX_BODY_BYTES = 8 * 1024;
/** How long a confirmation link works. Default 48 hours. */
export const CONFIRM_TTL_SECONDS = 48 * 3600;

export interface ServeOptions {
  host: string;
  port: number;
  config: Config;
  env: NodeJS.ProcessEnv;
  databasePath: string;
  now?: () => Date;
  /** Default: createTransport(env, …) from the deliver step (SMTP_URL, else the outbox). */
  transport?: Transport;
  log?: (line: string) => void;
  limits?: Partial<Limits>;
  confirmTtlSeconds?: number;
  /** Base URL links in emails point at. Default: SERVICE_URL, else config.site.subscribeUrl's folder, else the listening address. */
  publicUrl?: string;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
  /** Resolves once every confirmation email accepted so far has been sent (or failed and been logged). */
  settled(): Promise<void>;
}

/** DATABASE_PATH, default subscribers.db (gitignored). For the CLI. */
export function databasePathFrom(env: NodeJS.ProcessEnv): string {
  return env.DATABASE_PATH && env.DATABASE_PATH.trim() ? env.DATABASE_PATH.trim() : 'subscribers.db';
}

/** The secret that signs every token: required, and an error naming the variable when missing. */
export function secretFrom(env: NodeJS.ProcessEnv): string {
  const secret = env.UNSUBSCRIBE_SECRET;
  if (!secret || !secret.trim()) {
    throw new DigestError('ENV_MISSING', 'UNSUBSCRIBE_SECRET is not set', {
      origin: 'env UNSUBSCRIBE_SECRET',
      hint: 'set UNSUBSCRIBE_SECRET (e.g. `openssl rand -hex 32`) to the same value the sending step uses: it signs confirmation and unsubscribe links',
    });
  }
  return secret;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

type Body = { kind: 'form'; fields: URLSearchParams } | { kind: 'json'; value: unknown } | { kind: 'none' };

/** Read at most `cap` bytes; 'too-large' as soon as the declared or received length passes it. */
function readBody(req: http.IncomingMessage, cap: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > cap) {
        done = true;
        req.off('data', onData);
        resolve('too-large');
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!done) reject(err);
    });
    // A client that hangs up mid-body: settle rather than leave the request's closure waiting forever.
    req.on('close', () => {
      if (!done && !req.complete) {
        done = true;
        reject(new HttpError(400, 'aborted', 'the request was cut off'));
      }
    });
  });
}

function parseBody(req: http.IncomingMessage, buf: Buffer): Body {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (buf.length === 0) return { kind: 'none' };
  if (type === 'application/x-www-form-urlencoded') return { kind: 'form', fields: new URLSearchParams(buf.toString('utf8')) };
  if (type === 'application/json') {
    try {
      return { kind: 'json', value: JSON.parse(buf.toString('utf8')) as unknown };
    } catch {
      throw new HttpError(400, 'bad-json', 'the request body is not valid JSON');
    }
  }
  throw new HttpError(415, 'unsupported-type', 'send the form as application/x-www-form-urlencoded or application/json');
}

function field(body: Body, name: string): unknown {
  if (body.kind === 'form') return body.fields.get(name) ?? undefined;
  if (body.kind === 'json') return body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value) ? (body.value as Record<string, unknown>)[name] : undefined;
  return undefined;
}

/** Validate a submitted address. Control characters are refused before trimming: a trailing CRLF is injection, not whitespace. */
export function checkAddress(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') throw new HttpError(400, 'email-missing', 'an email address is required');
  if (typeof raw !== 'string') throw new HttpError(400, 'email-invalid', 'the email address must be a string');
  // eslint-disable-next-line no-control-regex
  if (/[\r\n]/.test(raw)) throw new HttpError(400, 'header-injection', 'the email address contains a line break');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new HttpError(400, 'email-invalid', 'the email address contains a control character');
  const email = normalizeAddress(raw);
  if (!email) throw new HttpError(400, 'email-invalid', 'that is not an email address we can send to (use a plain address like name@example.org)');
  return email;
}

/**
 * The rate-limit key of a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64, since one
 * host usually holds a whole /64 and could otherwise change address per request.
 */
export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Where links in our emails point: an explicit URL, SERVICE_URL, the folder of config.site.subscribeUrl, or us. */
function publicBase(opts: ServeOptions, listening: string): string {
  const explicit = opts.publicUrl ?? opts.env.SERVICE_URL;
  if (explicit && explicit.trim()) return new URL('./', explicit.trim().replace(/\/?$/, '/')).href;
  if (opts.config.site.subscribeUrl) {
    // https://subs.example.org/subscribe → https://subs.example.org/
    return new URL('./', opts.config.site.subscribeUrl).href;
  }
  return `${listening}/`;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const secret = secretFrom(opts.env);
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const ttl = opts.confirmTtlSeconds ?? CONFIRM_TTL_SECONDS;
  const { config, env } = opts;
  const listId = config.email.listId;
  const exportToken = env.EXPORT_TOKEN && env.EXPORT_TOKEN.trim() ? env.EXPORT_TOKEN.trim() : null;
  const trustProxy = env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true';
  let allowedOrigin: string | null = null;
  try {
    allowedOrigin = new URL(config.site.url).origin;
  } catch {
    allowedOrigin = null;
  }

  const pageOpts: PageOptions = { lang: config.site.language, siteTitle: config.site.title, siteUrl: new URL(config.site.basePath || '/', config.site.url).href };

  const db = openStore(opts.databasePath);
  const store: Queries = createQueries(db, listId);
  const ownTransport = !opts.transport;
  const transport = opts.transport ?? createTransport(env, { outboxDir: env.OUTBOX_DIR || 'outbox', rateLimitPerSecond: config.email.rateLimitPerSecond });
  const pending = new Set<Promise<void>>();
  const mailer = createConfirmationMailer({
    from: config.email.from,
    replyTo: config.email.replyTo,
    listId,
    siteTitle: config.site.title,
    siteUrl: pageOpts.siteUrl,
    expiresHours: Math.round(ttl / 3600),
    dkim: dkimFromEnv(env, config.email.from),
  });
  let base = '';

  const prune = () => {
    const t = now().getTime();
    const longest = Math.max(limits.perIp.windowSeconds, limits.perAddress.windowSeconds);
    // Expired tokens are kept 30 days so a late click still hears "expired" (410), not "invalid".
    const forgotten = store.prune(Math.floor(t / 1000) - longest, new Date(t - 30 * 86400_000).toISOString());
    if (forgotten > 0) log(`forgot ${forgotten} address(es) never confirmed`);
  };
  prune();
  const pruneTimer = setInterval(prune, 3600_000);
  pruneTimer.unref();

  const audit = (event: string, address: string) => log(`audit ${event} ${maskAddress(address)}`);

  /** Count a hit; 429 with Retry-After once the window's limit is passed. */
  /** Count a hit; the seconds until the window ends when its limit is passed, else null. */
  const overLimit = (key: string, l: Limit): number | null => {
    const t = Math.floor(now().getTime() / 1000);
    const start = t - (t % l.windowSeconds);
    return store.hit(key, start) > l.max ? Math.max(1, start + l.windowSeconds - t) : null;
  };

  const clientIp = (req: http.IncomingMessage): string => {
    if (trustProxy) {
      // The rightmost entry is the one our own proxy added; anything left of it the client could forge.
      const xff = String(req.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const last = xff[xff.length - 1];
      if (last) return ipKey(last);
    }
    return ipKey(req.socket.remoteAddress ?? 'unknown');
  };

  const sendConfirmation = (address: string, nonce: string, token: string, at: Date) => {
    const job = (async () => {
      try {
        const mail = await mailer.build(address, `${base}confirm?token=${encodeURIComponent(token)}`, nonce, at);
        await transport.send({ raw: mail.raw, from: mail.from, to: mail.to, messageId: mail.messageId });
      } catch (err) {
        const e = err as { message?: string; responseCode?: number };
        log(`error confirmation email to ${maskAddress(address)} not sent: ${e.responseCode ?? ''} ${String(e.message ?? err).replace(/[^\x20-\x7e]/g, ' ').slice(0, 200)}`);
      }
    })();
    pending.add(job);
    void job.finally(() => pending.delete(job));
  };

  /** A valid, unspent, unexpired confirmation token and its subscriber; or the 4xx that says why not. */
  const checkConfirm = (raw: unknown): { nonce: string; row: SubscriberRow } => {
    const t = parseConfirmToken(raw);
    const tokenRow = t ? store.token(t.nonce) : undefined;
    const row = tokenRow ? store.subscriber(tokenRow.subscriber_id) : undefined;
    if (!t || !tokenRow || !row || !verifyConfirmMac(secret, listId, t, row.address)) {
      throw new HttpError(400, 'token-invalid', 'this confirmation link is not valid; subscribe again to get a new one');
    }
    if (tokenRow.used_at) throw new HttpError(409, 'token-used', 'this confirmation link was already used');
    if (t.expires * 1000 <= now().getTime()) throw new HttpError(410, 'token-expired', 'this confirmation link has expired; subscribe again to get a new one');
    return { nonce: t.nonce, row };
  };

  const checkUnsubscribe = (raw: unknown): SubscriberRow => {
    const token = typeof raw === 'string' ? raw : '';
    const prefix = tokenRecipient(token);
    const row = prefix ? store.byHashPrefix(prefix) : undefined;
    if (!row || !verifyUnsubscribeToken(listId, row.address, token, secret)) {
      throw new HttpError(400, 'token-invalid', 'this unsubscribe link is not valid; use the link in the latest issue, or reply to it');
    }
    return row;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://service.invalid');
    } catch {
      // An unparseable request target (e.g. absolute-form "http://["): answer, never throw out of the handler.
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('bad request target\n');
      return;
    }
    const method = req.method ?? 'GET';
    const accept = String(req.headers.accept ?? '');
    const isJsonRequest = String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
    const wantsJson = isJsonRequest || (accept.includes('application/json') && !accept.includes('text/html'));
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin && origin === allowedOrigin && url.pathname === '/subscribe' ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : url.pathname === '/subscribe' ? { Vary: 'Origin' } : {};

    const reply = (status: number, title: string, message: string, extra: { html?: string; json?: Record<string, unknown>; headers?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = {
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        // Tokens ride in URLs: never leak them to another site.
        'Referrer-Policy': 'no-referrer',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ...cors,
        ...extra.headers,
      };
      if (wantsJson) {
        res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ ok: status < 400, message, ...extra.json }));
      } else {
        res.writeHead(status, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
        res.end(page(pageOpts, title, extra.html ?? p(message)));
      }
    };

    const body = async (): Promise<Body> => {
      const buf = await readBody(req, MAX_BODY_BYTES);
      if (buf === 'too-large') throw new HttpError(413, 'body-too-large', `the request body is larger than ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
      return parseBody(req, buf);
    };

    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) throw new HttpError(405, 'method-not-allowed', `use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
    };

    try {
      switch (url.pathname) {
        case '/healthz': {
          allow('GET', 'HEAD');
          db.prepare('SELECT 1').get();
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end(JSON.stringify({ ok: true, schema: db.pragma('user_version', { simple: true }) }));
          return;
        }
        case '/': {
          allow('GET', 'HEAD');
          reply(200, 'Subscribe', '', { html: subscribeForm() });
          return;
        }
        case '/subscribe': {
          if (method === 'OPTIONS') {
            // CORS preflight for a fetch() from the archive; a plain form post needs none.
            const headers: Record<string, string> = { ...cors, 'Cache-Control': 'no-store' };
            if (cors['Access-Control-Allow-Origin']) Object.assign(headers, { 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '600' });
            res.writeHead(204, headers);
            res.end();
            return;
          }
          allow('POST');
          const address = checkAddress(field(await body(), 'email'));
          const at = now();
          const nonce = newNonce();
          const expires = Math.floor(at.getTime() / 1000) + ttl;
          const ip = clientIp(req);
          // Limits count only requests that would send mail: a refused request leaves the database untouched.
          // Counters and the new row in one transaction (one commit per request); a 429 still keeps its count.
          const outcome = store.atomically(() => {
            const wait = overLimit(`ip:${ip}`, limits.perIp) ?? overLimit(addressKey(address), limits.perAddress);
            return wait !== null ? { wait } : { row: store.requestSubscription(address, nonce, at.toISOString(), new Date(expires * 1000).toISOString()) };
          });
          if ('wait' in outcome) throw new HttpError(429, 'rate-limited', 'too many requests; try again later', { 'Retry-After': String(outcome.wait) });
          const { row } = outcome;
          audit(`subscribe-requested(${row.status})`, address);
          sendConfirmation(address, nonce, confirmToken(secret, listId, nonce, expires, address), at);
          // The same answer whatever the address's state: nobody learns who is subscribed.
          reply(202, 'Check your inbox', 'If the address can receive mail, a message with a confirmation link is on its way. Nothing changes until you confirm.');
          return;
        }
        case '/confirm': {
          allow('GET', 'HEAD', 'POST');
          if (method !== 'POST') {
            const { row } = checkConfirm(url.searchParams.get('token'));
            const token = url.searchParams.get('token')!;
            reply(200, 'Confirm your subscription', 'Press the button to confirm.', { html: confirmForm(token, maskAddress(row.address)) });
            return;
          }
          const b = await body();
          const token = field(b, 'token') ?? url.searchParams.get('token') ?? undefined;
          const { nonce, row } = checkConfirm(token);
          if (!store.confirm(nonce, row.id, now().toISOString())) throw new HttpError(409, 'token-used', 'this confirmation link was already used');
          audit('confirmed', row.address);
          reply(200, 'Subscribed', `${maskAddress(row.address)} will get the next issue. Every issue has a one-click unsubscribe link.`);
          return;
        }
        case '/unsubscribe': {
          allow('GET', 'HEAD', 'POST');
          const token = url.searchParams.get('token');
          if (method !== 'POST') {
            const row = checkUnsubscribe(token);
            if (row.status === 'unsubscribed') reply(200, 'Unsubscribed', `${maskAddress(row.address)} is not subscribed.`);
            else reply(200, 'Unsubscribe', 'Press the button to unsubscribe.', { html: unsubscribeForm(token!, maskAddress(row.address)) });
            return;
          }
          // RFC 8058: the body is List-Unsubscribe=One-Click, but the POST itself is the intent (scanners do not
          // POST), so any body within the cap is accepted; the token may also come in a form field.
          const b = await body().catch((err: unknown) => {
            if (err instanceof HttpError && err.status === 415) return { kind: 'none' } as Body;
            throw err;
          });
          const row = checkUnsubscribe(token ?? field(b, 'token'));
          if (store.unsubscribe(row.id, now().toISOString(), 'one-click')) audit('unsubscribed', row.address);
          reply(200, 'Unsubscribed', `${maskAddress(row.address)} will get no more issues.`);
          return;
        }
        case '/export': {
          allow('GET');
          if (!exportToken) throw new HttpError(404, 'export-disabled', 'export is disabled: set EXPORT_TOKEN to enable it');
          const auth = String(req.headers.authorization ?? '');
          const given = /^Bearer\s+(\S+)$/i.exec(auth)?.[1] ?? '';
          // Compare digests: constant time whatever the lengths.
          if (!given || !timingSafeEqual(sha256(given), sha256(exportToken))) {
            throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <EXPORT_TOKEN>', { 'WWW-Authenticate': 'Bearer realm="export"' });
          }
          const addresses = store.active();
          log(`export ${addresses.length} active`);
          const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
          if (wantsJson) {
            res.writeHead(200, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
            res.end(JSON.stringify({ subscribers: addresses }));
          } else {
            // The CSV form parseSubscribers() reads: SUBSCRIBERS_FILE can be this response saved to a file.
            res.writeHead(200, { ...headers, 'Content-Type': 'text/csv; charset=utf-8' });
            res.end(`email\n${addresses.map((a) => `${a}\n`).join('')}`);
          }
          return;
        }
        default:
          throw new HttpError(404, 'not-found', 'there is nothing here');
      }
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status === 413) {
          // Read (and drop) a little more so the client sees our answer rather than a reset, then hang up.
          let drained = 0;
          req.on('data', (c: Buffer) => {
            drained += c.length;
            if (drained > 1024 * 1024) req.destroy();
          });
        }
        reply(err.status, err.status === 429 ? 'Too many requests' : 'Sorry', err.message, {
          json: { error: err.code },
          // The code on the page too: what a reader quotes when asking for help.
          html: `${p(err.message)}${p(`(error ${err.code})`, 'muted')}`,
          headers: err.headers,
        });
        return;
      }
      log(`error ${method} ${url.pathname}: ${(err as Error).message}`);
      if (!res.headersSent) reply(500, 'Something went wrong', 'the service failed; try again later', { json: { error: 'internal' } });
      else res.destroy();
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Last resort: a bug must cost one request, not the process.
      log(`error unhandled: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  // Slow clients cannot hold connections open for long; a form post takes milliseconds.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(pruneTimer);
    if (ownTransport) await transport.close();
    db.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new DigestError('USAGE', `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`, {
      origin: `${opts.host}:${opts.port}`,
      hint: code === 'EADDRINUSE' ? 'another process uses that port: pick another with --port' : code === 'EACCES' ? 'ports below 1024 need privileges: use a port above 1024 behind a reverse proxy' : 'check --host is an address of this machine (e.g. 127.0.0.1 or 0.0.0.0)',
      cause: err,
    });
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  base = publicBase(opts, url);
  log(`serve listening on ${url} (database ${opts.databasePath}, transport ${transport.name}, links to ${base})`);
  // A mail server that is down at start is worth a line, not a refusal: sign-ups still queue their rows and
  // each failed confirmation email is logged.
  transport.verify().catch((err: unknown) => log(`warning: the ${transport.name} transport is not ready: ${(err as Error).message}`));

  let closing: Promise<void> | null = null;
  return {
    url,
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close() {
      closing ??= (async () => {
        clearInterval(pruneTimer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Idle keep-alive sockets go now; requests in flight get a few seconds to be answered.
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 5000).unref();
        });
        await Promise.allSettled([...pending]);
        if (ownTransport) await transport.close();
        db.close();
      })();
      return closing;
    },
  };
}

/**
 * For the CLI (`digest serve`): start, then close cleanly on SIGINT or SIGTERM (in-flight requests answered,
 * queued confirmation emails sent, database closed). Resolves once closed.
 */
export async function serveUntilSignal(opts: ServeOptions, signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Promise<void> {
  const running = await startServer(opts);
  await new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      for (const s of signals) process.off(s, stop);
      (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`serve stopping (${sig})`);
      void running.close().then(resolve);
    };
    for (const s of signals) process.on(s, stop);
  });
}
