import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { GatherConfig } from '../model.js';
import { DigestError, redactUrl } from '../errors.js';
import { decodeBytes } from './encoding.js';

/**
 * Fetching feeds with node's http/https, because rss-parser's parseURL is not fit for hostile servers
 * (field notes): here every request has a connect timeout and a total timeout that destroy the socket,
 * a size cap counted on decompressed bytes, a redirect limit with loop detection, a check of the resolved
 * address (also after every redirect) against private/loopback/link-local ranges, and conditional GET.
 */

export interface Conditional {
  etag: string | null;
  lastModified: string | null;
}

export interface FetchResult {
  status: 'ok' | 'not-modified';
  /** Decoded text ('' when not modified). */
  body: string;
  /** The URL after redirects (credentials kept: it is only used as a base for relative links). */
  finalUrl: string;
  etag: string | null;
  lastModified: string | null;
}

/** What gather calls to get a feed; tests and the benchmark may pass their own. */
export type FeedFetcher = (url: string, cond: Conditional, cfg: GatherConfig) => Promise<FetchResult>;

/** The longest we ever wait on a Retry-After before trying once more; longer ones are reported instead. */
export const RETRY_AFTER_CAP_MS = 1000;

// ───────────────────────────── addresses ─────────────────────────────

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

/** True for loopback, private, link-local, CGNAT, multicast, documentation and unspecified addresses. */
export function isPrivateAddress(ip: string): boolean {
  if (net.isIPv4(ip)) {
    const n = ipv4ToInt(ip);
    return V4_BLOCKED.some(([base, bits]) => {
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      return (n & mask) >>> 0 === (ipv4ToInt(base) & mask) >>> 0;
    });
  }
  if (net.isIPv6(ip)) {
    const lower = ip.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isPrivateAddress(mapped[1]!);
    if (lower === '::1' || lower === '::') return true;
    const first = Number.parseInt(lower.split(':')[0] || '0', 16);
    if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
    if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
    if ((first & 0xff00) === 0xff00) return true; // multicast
    if (lower.startsWith('64:ff9b:') || lower.startsWith('2001:db8:')) return true;
    return false;
  }
  return true; // not an IP at all: refuse
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Resolve the host and refuse private addresses unless the host is allowed. Returns the address to use. */
async function resolveSafe(url: URL, cfg: GatherConfig, origin: string): Promise<{ address: string; family: number }> {
  const host = hostOf(url);
  let addrs: { address: string; family: number }[];
  if (net.isIP(host)) addrs = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      addrs = await dnsLookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new DigestError('FEED_FETCH_FAILED', `cannot resolve ${host}: ${(err as Error).message}`, {
        origin, hint: 'check the host name in sources/feeds.yaml and the network', cause: err,
      });
    }
  }
  if (addrs.length === 0) throw new DigestError('FEED_FETCH_FAILED', `${host} has no address`, { origin, hint: 'check the host name in sources/feeds.yaml' });
  const allowed = cfg.allowPrivateHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')).includes(host);
  if (!allowed) {
    const bad = addrs.find((a) => isPrivateAddress(a.address));
    if (bad) {
      throw new DigestError('FEED_BLOCKED_ADDRESS', `${host} resolves to ${bad.address}, a private, loopback or link-local address`, {
        origin, hint: `a feed must be on the public internet; if this host is yours and trusted, add "${host}" to gather.allowPrivateHosts`,
      });
    }
  }
  return addrs[0]!;
}

// ───────────────────────────── one request ─────────────────────────────

interface Hop {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer | null;
}

function decompressor(encoding: string | undefined, firstByte: number | undefined): Transform | null {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return zlib.createGunzip();
  // "deflate" is meant to be zlib-wrapped but some servers send raw deflate: the zlib header starts 0x78.
  if (enc === 'deflate') return firstByte === 0x78 ? zlib.createInflate() : zlib.createInflateRaw();
  if (enc === 'br') return zlib.createBrotliDecompress();
  return null;
}

interface RequestCtx {
  cfg: GatherConfig;
  origin: string;
  deadline: number;
  /** Registered so the total timeout can destroy whatever is in flight. */
  onAbort: (fn: () => void) => void;
  /** Keep-alive agents shared by one gather run; null: a fresh connection per request. */
  agents: FetchAgents | null;
}

/**
 * Connections kept open between the requests of one gather run: feeds on one host then share a few
 * connections instead of opening one each (a connect and a close less per feed; on the benchmark's 200
 * feeds about a third of the HTTP client's CPU). A socket is only ever reused for the host it was opened
 * to, and it was opened to an address resolveSafe checked, so reuse cannot reach an address that was not
 * checked. `close` ends them; gather calls it when every feed is in.
 */
export interface FetchAgents {
  http: http.Agent;
  https: https.Agent;
  close: () => void;
}

export function openFetchAgents(): FetchAgents {
  const a = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return { ...a, close: () => { a.http.destroy(); a.https.destroy(); } };
}

/**
 * A kept-alive socket the server closed just as we reused it (its idle timeout) before any answer: the GET
 * is sent once more on a new connection rather than reported as a failure of the feed.
 */
class StaleSocket extends Error {}

function requestOnce(url: URL, address: { address: string; family: number }, headers: Record<string, string>, ctx: RequestCtx): Promise<Hop> {
  return new Promise<Hop>((resolvePromise, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    let settled = false;
    let responded = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (err: Error | null, hop?: Hop) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolvePromise(hop!);
    };
    const req = mod.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: url.pathname + url.search,
        method: 'GET',
        headers,
        agent: ctx.agents ? (url.protocol === 'https:' ? ctx.agents.https : ctx.agents.http) : false,
        servername: net.isIP(hostOf(url)) ? undefined : hostOf(url),
        // Connect to the address we checked, not whatever a second DNS answer says (DNS rebinding).
        lookup: ((_host: string, opts: unknown, cb: (...a: unknown[]) => void) => {
          if ((opts as { all?: boolean }).all) cb(null, [address]);
          else cb(null, address.address, address.family);
        }) as unknown as net.LookupFunction,
      },
      (res) => {
        responded = true;
        if (connectTimer) clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          finish(null, { statusCode: status, headers: res.headers, body: null });
          return;
        }
        const declared = Number(res.headers['content-length']);
        const identity = !res.headers['content-encoding'] || res.headers['content-encoding'] === 'identity';
        if (identity && Number.isFinite(declared) && declared > ctx.cfg.maxBytes) {
          finish(tooLarge(ctx, declared));
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        let stream: Transform | null = null;
        const onData = (chunk: Buffer) => {
          total += chunk.length;
          if (total > ctx.cfg.maxBytes) {
            stream?.destroy();
            finish(tooLarge(ctx, null));
            return;
          }
          chunks.push(chunk);
        };
        const onEnd = () => finish(null, { statusCode: status, headers: res.headers, body: Buffer.concat(chunks) });
        const onError = (err: Error) => finish(new DigestError('FEED_FETCH_FAILED', `reading the response failed: ${err.message}`, { origin: ctx.origin, hint: 'the server sent a broken or badly compressed body; try again later', cause: err }));
        res.on('error', onError);
        res.once('data', (first: Buffer) => {
          stream = decompressor(res.headers['content-encoding'], first[0]);
          if (stream) {
            stream.on('data', onData);
            stream.on('end', onEnd);
            stream.on('error', onError);
            stream.write(first);
            res.on('data', (c: Buffer) => { if (!settled) stream!.write(c); });
            res.on('end', () => stream!.end());
          } else {
            onData(first);
            res.on('data', (c: Buffer) => { if (!settled) onData(c); });
            res.on('end', onEnd);
          }
        });
        // An empty body emits no 'data'.
        res.on('end', () => { if (!stream && chunks.length === 0 && !settled) onEnd(); });
      },
    );
    ctx.onAbort(() => finish(new DigestError('FEED_TIMEOUT', `no complete answer within ${ctx.cfg.timeoutMs} ms`, { origin: ctx.origin, hint: 'the server is slow or stalled; it will be tried again next run (raise gather.timeoutMs if it is always slow)' })));
    connectTimer = setTimeout(() => {
      finish(new DigestError('FEED_TIMEOUT', `could not connect within ${ctx.cfg.connectTimeoutMs} ms`, { origin: ctx.origin, hint: 'the server is unreachable or overloaded; it will be tried again next run' }));
    }, Math.max(1, Math.min(ctx.cfg.connectTimeoutMs, ctx.deadline - Date.now())));
    req.on('socket', (socket) => {
      if (!socket.connecting) { if (connectTimer) clearTimeout(connectTimer); }
      else socket.once('connect', () => { if (connectTimer) clearTimeout(connectTimer); });
    });
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (req.reusedSocket && !responded && (code === 'ECONNRESET' || code === 'EPIPE')) {
        finish(new StaleSocket(err.message));
        return;
      }
      finish(new DigestError('FEED_FETCH_FAILED', `request failed: ${err.message}`, { origin: ctx.origin, hint: 'the server refused or dropped the connection; it will be tried again next run', cause: err }));
    });
    req.end();
  });
}

/** requestOnce, sent again on a new connection when a reused one turns out to be closed. */
async function requestFresh(url: URL, address: { address: string; family: number }, headers: Record<string, string>, ctx: RequestCtx): Promise<Hop> {
  try {
    return await requestOnce(url, address, headers, ctx);
  } catch (err) {
    if (!(err instanceof StaleSocket)) throw err;
    return requestOnce(url, address, headers, { ...ctx, agents: null });
  }
}

function tooLarge(ctx: RequestCtx, declared: number | null): DigestError {
  return new DigestError('FEED_TOO_LARGE', `the feed is larger than ${ctx.cfg.maxBytes} bytes${declared !== null ? ` (Content-Length ${declared})` : ' (after decompression)'}`, {
    origin: ctx.origin, hint: 'raise gather.maxBytes if the feed is legitimate, or ask the publisher for a shorter feed',
  });
}

/** Retry-After as an absolute time: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return now + Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

function header(h: http.IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fetch one feed. Throws DigestError (FEED_*) on every failure; the origin never carries credentials.
 * `agents` (openFetchAgents) lets requests share connections; without them every request has its own.
 */
export async function fetchFeed(rawUrl: string, cond: Conditional, cfg: GatherConfig, agents: FetchAgents | null = null): Promise<FetchResult> {
  const origin = redactUrl(rawUrl);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DigestError('FEED_FETCH_FAILED', 'not a URL', { origin, hint: 'write the full feed address in sources/feeds.yaml, e.g. https://example.org/feed.xml' });
  }
  const deadline = Date.now() + cfg.timeoutMs;
  let aborter: (() => void) | null = null;
  const totalTimer = setTimeout(() => aborter?.(), cfg.timeoutMs);
  const ctx: RequestCtx = { cfg, origin, deadline, onAbort: (fn) => { aborter = fn; }, agents };
  const visited = new Set<string>();
  let retried = false;
  try {
    for (let redirects = 0; ; ) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new DigestError('FEED_FETCH_FAILED', `unsupported scheme ${url.protocol}`, { origin, hint: 'feeds must be http or https URLs' });
      }
      visited.add(url.toString());
      if (Date.now() >= deadline) throw new DigestError('FEED_TIMEOUT', `no complete answer within ${cfg.timeoutMs} ms`, { origin, hint: 'the server is slow; it will be tried again next run' });
      // A stalled resolver must not outlive the total timeout either.
      let dnsTimer: NodeJS.Timeout | undefined;
      const address = await Promise.race([
        resolveSafe(url, cfg, redactUrl(url.toString())),
        new Promise<never>((_, reject) => {
          dnsTimer = setTimeout(() => reject(new DigestError('FEED_TIMEOUT', `could not resolve ${hostOf(url)} within ${cfg.timeoutMs} ms`, { origin, hint: 'the DNS resolver is slow or unreachable; it will be tried again next run' })), Math.max(1, deadline - Date.now()));
        }),
      ]).finally(() => clearTimeout(dnsTimer));
      const headers: Record<string, string> = {
        'user-agent': cfg.userAgent,
        accept: 'application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5',
        'accept-encoding': 'gzip, deflate, br',
      };
      if (cond.etag) headers['if-none-match'] = cond.etag;
      if (cond.lastModified) headers['if-modified-since'] = cond.lastModified;
      const hop = await requestFresh(url, address, headers, ctx);
      const status = hop.statusCode;
      if ([301, 302, 303, 307, 308].includes(status)) {
        const location = header(hop.headers, 'location');
        if (!location) throw new DigestError('FEED_HTTP_STATUS', `HTTP ${status} without a Location header`, { origin, hint: 'the server is misconfigured; tell its owner' });
        const next = new URL(location, url);
        if (visited.has(next.toString())) {
          throw new DigestError('FEED_TOO_MANY_REDIRECTS', `redirect loop: ${redactUrl(url.toString())} → ${redactUrl(next.toString())} was already visited`, { origin, hint: 'the server redirects in a circle; update the URL in sources/feeds.yaml to the feed\'s real address' });
        }
        redirects++;
        if (redirects > cfg.maxRedirects) {
          throw new DigestError('FEED_TOO_MANY_REDIRECTS', `more than ${cfg.maxRedirects} redirects`, { origin, hint: `update the URL in sources/feeds.yaml to where it ends up (${redactUrl(next.toString())})` });
        }
        url = next;
        continue;
      }
      if (status === 304) {
        return { status: 'not-modified', body: '', finalUrl: url.toString(), etag: header(hop.headers, 'etag') ?? cond.etag, lastModified: header(hop.headers, 'last-modified') ?? cond.lastModified };
      }
      if (status === 429 || status === 503) {
        const at = parseRetryAfter(header(hop.headers, 'retry-after') ?? undefined, Date.now());
        if (at !== null && !retried && at - Date.now() <= RETRY_AFTER_CAP_MS && at - Date.now() < deadline - Date.now()) {
          retried = true;
          visited.delete(url.toString());
          await sleep(Math.max(0, at - Date.now()));
          continue;
        }
        const when = at !== null ? new Date(at).toISOString() : null;
        throw new DigestError('FEED_RATE_LIMITED', `HTTP ${status}${when ? `: asked to come back after ${when}` : ' without Retry-After'}`, {
          origin, hint: when ? `it will be tried again on the next run after ${when}` : 'it will be tried again on the next run',
        });
      }
      if (status !== 200) {
        throw new DigestError('FEED_HTTP_STATUS', `HTTP ${status}`, { origin, hint: status === 404 || status === 410 ? 'the feed has moved or is gone; update or remove it in sources/feeds.yaml' : 'the server answered with an error; it will be tried again next run' });
      }
      const decoded = decodeBytes(hop.body ?? Buffer.alloc(0), header(hop.headers, 'content-type'), 'xml');
      return { status: 'ok', body: decoded.text, finalUrl: url.toString(), etag: header(hop.headers, 'etag'), lastModified: header(hop.headers, 'last-modified') };
    }
  } finally {
    clearTimeout(totalTimer);
  }
}
