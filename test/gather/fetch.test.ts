import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestError } from '../../src/errors.js';
import { fetchFeed, isPrivateAddress, openFetchAgents, parseRetryAfter } from '../../src/gather/fetch.js';
import { decodeBytes, utf8Text } from '../../src/gather/encoding.js';
import { parseFeed } from '../../src/gather/feeds.js';
import { rss, startServer, testConfig } from './helpers.js';

const FEED = rss([{ title: 'Back to the age of research', link: 'https://example.org/a', guid: 'a', date: 'Tue, 25 Nov 2025 10:00:00 GMT' }]);
let slowSocketClosed: Promise<string> = Promise.resolve('no request');
/** The client port of each request to /conn and /late: one port per connection. */
const connPorts: number[] = [];
let srv: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  srv = await startServer({
    '/feed': (req, res) => res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(FEED),
    '/conn': (req, res) => {
      connPorts.push(req.socket.remotePort!);
      res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(FEED);
    },
    '/late': (req, res) => {
      connPorts.push(req.socket.remotePort!);
      setTimeout(() => res.writeHead(200).end(FEED), 300);
    },
    '/slow': (req, res) => {
      slowSocketClosed = new Promise((r) => req.socket.on('close', () => r('closed')));
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.write('<?xml version="1.0"?><rss version="2.0"><channel>'); // …and never finishes
    },
    '/big': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 400 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    },
    '/big-declared': (req, res) => res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).end(),
    '/gzip-bomb': (req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20))),
    '/gzip': (req, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/xml' }).end(zlib.gzipSync(FEED)),
    '/br': (req, res) => res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync(FEED)),
    '/deflate': (req, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync(FEED)),
    '/deflate-raw': (req, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateRawSync(FEED)),
    '/to-localhost': (req, res) => res.writeHead(302, { location: `http://localhost:${srv.port}/feed` }).end(),
    '/loop-a': (req, res) => res.writeHead(301, { location: '/loop-b' }).end(),
    '/loop-b': (req, res) => res.writeHead(301, { location: '/loop-a' }).end(),
    '/chain/*': (req, res) => {
      const n = Number((req.url ?? '').split('/').pop());
      res.writeHead(302, { location: n > 0 ? `/chain/${n - 1}` : '/feed' }).end();
    },
    '/etag': (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { etag: '"v1"', 'last-modified': 'Tue, 25 Nov 2025 10:00:00 GMT' }).end(FEED);
    },
    '/429': (req, res) => res.writeHead(429, { 'retry-after': '120' }).end(),
    '/503-date': (req, res) => res.writeHead(503, { 'retry-after': 'Wed, 01 Jan 2031 00:00:00 GMT' }).end(),
    '/429-once': (() => {
      let n = 0;
      return (req, res) => (n++ === 0 ? res.writeHead(429, { 'retry-after': '0' }).end() : res.writeHead(200).end(FEED));
    })(),
    '/500': (req, res) => res.writeHead(500).end('boom'),
    '/cp1252': (req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(iconv.encode(rss([{ title: '“Smart quotes” — café', link: 'https://example.org/c' }]).replace(' encoding="UTF-8"', ''), 'windows-1252')),
    '/cp1252-header': (req, res) => res.writeHead(200, { 'content-type': 'text/xml; charset=windows-1252' }).end(iconv.encode(rss([{ title: 'naïve “x”', link: 'https://example.org/c' }]), 'windows-1252')),
    '/bom-utf8': (req, res) => res.writeHead(200, { 'content-type': 'text/xml; charset=iso-8859-1' }).end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rss([{ title: 'Zürich ✓', link: 'https://example.org/z' }]))])),
    '/bom-utf16': (req, res) => res.writeHead(200).end(Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(rss([{ title: 'UTF-16 “ok”', link: 'https://example.org/u' }]).replace('UTF-8', 'UTF-16'), 'utf-16le')])),
    '/laughs': (req, res) => res.writeHead(200).end(`<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<rss version="2.0"><channel><title>&lol3;</title><item><title>&lol3;</title></item></channel></rss>`),
    '/xxe': (req, res) => res.writeHead(200).end('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>'),
    '/malformed': (req, res) => res.writeHead(200).end('<rss version="2.0"><channel><item><title>unclosed</channel></rss>'),
  });
});
afterAll(() => srv.close());

async function failure(p: Promise<unknown>): Promise<DigestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DigestError);
    return err as DigestError;
  }
  throw new Error('expected a failure');
}

const none = { etag: null, lastModified: null };

describe('fetchFeed against a real server on 127.0.0.1', () => {
  it('fetches, decodes and sends our User-Agent', async () => {
    const r = await fetchFeed(`${srv.base}/feed`, none, testConfig());
    expect(r.status).toBe('ok');
    expect(r.body).toBe(FEED);
    expect(srv.stats.requests.find((q) => q.path === '/feed')!.headers['user-agent']).toBe('debate-digest-test/1');
  });

  it('gives up on a stalled server at the total timeout and closes the socket', async () => {
    const err = await failure(fetchFeed(`${srv.base}/slow`, none, testConfig({ timeoutMs: 300 })));
    expect(err.code).toBe('FEED_TIMEOUT');
    const closed = await Promise.race([slowSocketClosed, new Promise((r) => setTimeout(() => r('still open'), 3000))]);
    expect(closed).toBe('closed');
  });

  it.skipIf(!existsSync('/usr/bin/python3'))('gives up at the connect timeout when the server never completes the handshake', async () => {
    // A listener with a zero backlog that never accepts: once its queue holds one connection, the kernel
    // drops further SYNs, so our connect stays pending, as with a black-holed host, but on loopback.
    const py = spawn('/usr/bin/python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(20)']);
    try {
      const port: number = await new Promise((r) => py.stdout.once('data', (d) => r(Number(String(d).trim()))));
      const fillers = Array.from({ length: 3 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
      await new Promise((r) => setTimeout(r, 150));
      try {
        const err = await failure(fetchFeed(`http://127.0.0.1:${port}/feed`, none, testConfig({ connectTimeoutMs: 200, timeoutMs: 5000 })));
        expect(err.code).toBe('FEED_TIMEOUT');
        expect(err.message).toMatch(/could not connect within 200 ms/);
      } finally {
        for (const f of fillers) f.destroy();
      }
    } finally {
      py.kill();
    }
  });

  it('stops reading past maxBytes', async () => {
    expect((await failure(fetchFeed(`${srv.base}/big`, none, testConfig({ maxBytes: 100_000 })))).code).toBe('FEED_TOO_LARGE');
    expect((await failure(fetchFeed(`${srv.base}/big-declared`, none, testConfig({ maxBytes: 100_000 })))).code).toBe('FEED_TOO_LARGE');
  });

  it('counts decompressed bytes against maxBytes (gzip bomb)', async () => {
    const err = await failure(fetchFeed(`${srv.base}/gzip-bomb`, none, testConfig({ maxBytes: 100_000 })));
    expect(err.code).toBe('FEED_TOO_LARGE');
    expect(err.message).toMatch(/decompression/);
  });

  it.each(['/gzip', '/br', '/deflate', '/deflate-raw'])('decompresses %s', async (p) => {
    const r = await fetchFeed(`${srv.base}${p}`, none, testConfig());
    expect(r.body).toBe(FEED);
  });

  it('refuses a redirect to a private address whose host is not allowed', async () => {
    const err = await failure(fetchFeed(`${srv.base}/to-localhost`, none, testConfig({ allowPrivateHosts: ['127.0.0.1'] })));
    expect(err.code).toBe('FEED_BLOCKED_ADDRESS');
    expect(err.hint).toMatch(/allowPrivateHosts/);
    expect(srv.stats.requests.some((q) => q.path === '/feed' && q.headers.host?.startsWith('localhost'))).toBe(false);
  });

  it('refuses loopback without an allowlist', async () => {
    expect((await failure(fetchFeed(`${srv.base}/feed`, none, testConfig({ allowPrivateHosts: [] })))).code).toBe('FEED_BLOCKED_ADDRESS');
  });

  it('detects a redirect loop', async () => {
    const err = await failure(fetchFeed(`${srv.base}/loop-a`, none, testConfig()));
    expect(err.code).toBe('FEED_TOO_MANY_REDIRECTS');
    expect(err.message).toMatch(/loop/);
  });

  it('follows up to maxRedirects and no more', async () => {
    expect((await fetchFeed(`${srv.base}/chain/2`, none, testConfig({ maxRedirects: 3 }))).finalUrl).toBe(`${srv.base}/feed`);
    expect((await failure(fetchFeed(`${srv.base}/chain/5`, none, testConfig({ maxRedirects: 3 })))).code).toBe('FEED_TOO_MANY_REDIRECTS');
  });

  it('sends a conditional GET and reports 304 as not modified', async () => {
    const first = await fetchFeed(`${srv.base}/etag`, none, testConfig());
    expect(first).toMatchObject({ status: 'ok', etag: '"v1"', lastModified: 'Tue, 25 Nov 2025 10:00:00 GMT' });
    const second = await fetchFeed(`${srv.base}/etag`, { etag: first.etag, lastModified: first.lastModified }, testConfig());
    expect(second).toMatchObject({ status: 'not-modified', body: '', etag: '"v1"' });
    const last = srv.stats.requests.filter((q) => q.path === '/etag').pop()!;
    expect(last.headers['if-none-match']).toBe('"v1"');
    expect(last.headers['if-modified-since']).toBe('Tue, 25 Nov 2025 10:00:00 GMT');
  });

  it('reports 429 with Retry-After as FEED_RATE_LIMITED with the time, without waiting', async () => {
    const before = Date.now();
    const err = await failure(fetchFeed(`${srv.base}/429`, none, testConfig()));
    expect(err.code).toBe('FEED_RATE_LIMITED');
    const at = /after (\S+Z)/.exec(err.message)?.[1];
    expect(at).toBeDefined();
    expect(Date.parse(at!)).toBeGreaterThanOrEqual(before + 119_000);
    const err503 = await failure(fetchFeed(`${srv.base}/503-date`, none, testConfig()));
    expect(err503.message).toContain('2031-01-01T00:00:00.000Z');
  });

  it('retries once after a short Retry-After', async () => {
    expect((await fetchFeed(`${srv.base}/429-once`, none, testConfig())).status).toBe('ok');
  });

  it('reports HTTP errors and strips credentials from the origin', async () => {
    const err = await failure(fetchFeed(`http://reader:s3cret@127.0.0.1:${srv.port}/500?token=abc`, none, testConfig()));
    expect(err.code).toBe('FEED_HTTP_STATUS');
    expect(err.origin).not.toMatch(/s3cret|abc/);
    expect(err.format()).not.toMatch(/s3cret|abc/);
  });

  it('decodes windows-1252 sent without any declared charset', async () => {
    const r = await fetchFeed(`${srv.base}/cp1252`, none, testConfig());
    const parsed = await parseFeed(r.body, r.finalUrl);
    expect(parsed.items[0]!.title).toBe('“Smart quotes” — café');
  });

  it('honours the Content-Type charset over the XML declaration', async () => {
    const r = await fetchFeed(`${srv.base}/cp1252-header`, none, testConfig());
    expect((await parseFeed(r.body, r.finalUrl)).items[0]!.title).toBe('naïve “x”');
  });

  it('a byte-order mark wins over the header (UTF-8 and UTF-16)', async () => {
    const a = await fetchFeed(`${srv.base}/bom-utf8`, none, testConfig());
    expect((await parseFeed(a.body, a.finalUrl)).items[0]!.title).toBe('Zürich ✓');
    const b = await fetchFeed(`${srv.base}/bom-utf16`, none, testConfig());
    expect((await parseFeed(b.body, b.finalUrl)).items[0]!.title).toBe('UTF-16 “ok”');
  });

  it('rejects entity declarations (billion laughs, XXE) before parsing', async () => {
    for (const p of ['/laughs', '/xxe']) {
      const r = await fetchFeed(`${srv.base}${p}`, none, testConfig());
      const parsed = await parseFeed(r.body, r.finalUrl);
      expect(parsed.fatal?.code).toBe('FEED_ENTITY_REJECTED');
      expect(parsed.items).toEqual([]);
    }
  });

  it('reports malformed XML as FEED_PARSE_FAILED', async () => {
    const r = await fetchFeed(`${srv.base}/malformed`, none, testConfig());
    expect((await parseFeed(r.body, r.finalUrl)).fatal?.code).toBe('FEED_PARSE_FAILED');
  });
});

describe('fetchFeed with keep-alive agents (as gather uses it)', () => {
  it('sends the requests of a run over one connection and gets the same bodies', async () => {
    connPorts.length = 0;
    const agents = openFetchAgents();
    try {
      for (let i = 0; i < 4; i++) expect((await fetchFeed(`${srv.base}/conn?n=${i}`, none, testConfig(), agents)).body).toBe(FEED);
    } finally {
      agents.close();
    }
    expect(connPorts).toHaveLength(4);
    expect(new Set(connPorts).size).toBe(1);
  });

  it('does not take a slow answer on a reused connection for a connect timeout', async () => {
    connPorts.length = 0;
    const agents = openFetchAgents();
    try {
      await fetchFeed(`${srv.base}/conn`, none, testConfig(), agents);
      // The answer takes 300 ms, longer than the connect timeout; the connection was made long before.
      const r = await fetchFeed(`${srv.base}/late`, none, testConfig({ connectTimeoutMs: 100, timeoutMs: 2000 }), agents);
      expect(r.body).toBe(FEED);
    } finally {
      agents.close();
    }
    expect(new Set(connPorts).size).toBe(1);
  });

  it('sends a GET again on a new connection when the server closed the kept one as it was reused', async () => {
    // Answers the first request of each connection and keeps it open; a second request on it is met with a
    // close (what a server whose idle timeout ran out just then does).
    const raw = net.createServer((socket) => {
      let requests = 0;
      socket.on('data', (d) => {
        if (!String(d).includes('\r\n\r\n')) return;
        if (++requests > 1) return void socket.destroy();
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(FEED)}\r\nConnection: keep-alive\r\n\r\n${FEED}`);
      });
      socket.on('error', () => {});
    });
    let connections = 0;
    raw.on('connection', () => connections++);
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`;
    const agents = openFetchAgents();
    try {
      expect((await fetchFeed(`${base}/a`, none, testConfig(), agents)).body).toBe(FEED);
      expect((await fetchFeed(`${base}/b`, none, testConfig(), agents)).body).toBe(FEED);
    } finally {
      agents.close();
      await new Promise((r) => raw.close(r));
    }
    expect(connections).toBe(2);
  });
});

describe('utf8Text gives exactly what Buffer.toString(\'utf8\') gives', () => {
  const reference = (b: Buffer) => b.toString('utf8');
  it('over generated text from every plane, valid and with every kind of invalid sequence', () => {
    const ranges: [number, number][] = [[0, 0x7f], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const invalid = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9f], [0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x28, 0xa1], [0xff]];
    let transcoded = 0;
    for (let i = 0; i < 300; i++) {
      const cps: number[] = [];
      for (let k = 0; k < 1500; k++) {
        const [lo, hi] = ranges[next() % (i % 3 === 0 ? 1 : ranges.length)]!;
        cps.push(lo + (next() % (hi - lo + 1)));
      }
      cps.push(0xfeff, 0xfffe, 0);
      let bytes = Buffer.from(String.fromCodePoint(...cps), 'utf8');
      if (i % 4 === 1) {
        const at = next() % bytes.length;
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(invalid[i % invalid.length]!), bytes.subarray(at)]);
      }
      if (i % 3 !== 0 && i % 4 !== 1) transcoded++;
      expect(utf8Text(bytes).length, `case ${i}`).toBe(reference(bytes).length);
      if (utf8Text(bytes) !== reference(bytes)) expect.fail(`case ${i} differs`);
    }
    expect(transcoded).toBeGreaterThan(100);
  });

  it('over the real feed corpus, and decodeBytes as before over it', () => {
    const dir = '/work/shared/feeds/rss-parser';
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(path.join(dir, f));
      expect(utf8Text(bytes) === reference(bytes), f).toBe(true);
      const d = decodeBytes(bytes, null, 'xml');
      if (d.encoding === 'utf-8' && d.from !== 'bom') expect(d.text === reference(bytes), f).toBe(true);
    }
  });
});

describe('address checks', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.32.0.1', false], ['192.168.1.1', true],
    ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['8.8.8.8', false], ['::1', true],
    ['fe80::1', true], ['fd00::1', true], ['::ffff:127.0.0.1', true], ['2606:4700::1111', false], ['not-an-ip', true],
  ])('%s private=%s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });

  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('30', 1000)).toBe(31_000);
    expect(parseRetryAfter('Wed, 01 Jan 2031 00:00:00 GMT', 0)).toBe(Date.UTC(2031, 0, 1));
    expect(parseRetryAfter('soon', 0)).toBeNull();
  });
});
