import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatherConfig } from '../../src/model.js';
import { GATHER_DEFAULTS } from '../../src/gather/index.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 with a route table; counts requests and in-flight concurrency. */
export async function startServer(routes: Record<string, Handler>) {
  const stats = { requests: [] as { path: string; headers: http.IncomingHttpHeaders }[], inFlight: 0, maxInFlight: 0 };
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    stats.requests.push({ path: req.url ?? '/', headers: req.headers });
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let done = false;
    const end = () => { if (!done) { done = true; stats.inFlight--; } };
    res.on('close', end);
    const handler = routes[p] ?? Object.entries(routes).find(([k]) => k.endsWith('*') && p.startsWith(k.slice(0, -1)))?.[1];
    if (!handler) {
      res.writeHead(404).end('not found');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function testConfig(over: Partial<GatherConfig> = {}): GatherConfig {
  return { ...GATHER_DEFAULTS, timeoutMs: 2000, connectTimeoutMs: 1000, allowPrivateHosts: ['127.0.0.1'], userAgent: 'debate-digest-test/1', ...over };
}

export function rss(items: { title: string; link?: string; guid?: string; date?: string; description?: string }[], opts: { channelLink?: string } = {}): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Test feed</title><link>${opts.channelLink ?? 'https://example.org/'}</link>\n` +
    items.map((i) => `<item><title>${esc(i.title)}</title>${i.link ? `<link>${esc(i.link)}</link>` : ''}${i.guid ? `<guid isPermaLink="false">${esc(i.guid)}</guid>` : ''}${i.date ? `<pubDate>${i.date}</pubDate>` : ''}<description>${esc(i.description ?? `Body of ${i.title}, long enough to be hashed as content for the ledger.`)}</description></item>`).join('\n') +
    '\n</channel></rss>\n';
}
