/** Shared by the archive tests: a config, the fixture records, a static server and an HTML link checker. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.js';
import type { Config, Digest } from '../../src/model.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RECORDS = path.join(ROOT, 'test/fixtures/records');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** The project's real themes and speakers, with the site settings a test asks for. */
export async function testConfig(site: Partial<Config['site']> = {}): Promise<Config> {
  const config = parseConfig({
    'feeds.yaml': 'feeds: []\n',
    'themes.yaml': await readFile(path.join(ROOT, 'sources/themes.yaml'), 'utf8'),
    'speakers.yaml': await readFile(path.join(ROOT, 'sources/speakers.yaml'), 'utf8'),
  });
  config.site = { ...config.site, url: 'https://example.github.io', ...site };
  return config;
}

/** The fixture records, newest first (as the feeds list them). */
export async function fixtureDigests(): Promise<Digest[]> {
  const names = (await readdir(RECORDS)).filter((n) => /^\d{4}-\d{2}-\d{2}-\d+\.json$/.test(n)).sort().reverse();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(RECORDS, n), 'utf8')) as Digest));
}

function dateAfter(start: string, days: number): string {
  return new Date(Date.parse(`${start}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Issue n (1-based) of a synthetic archive: fixture content, a weekly date, quote ids made unique. */
export function syntheticDigest(base: Digest, n: number): Digest {
  const date = dateAfter('2017-01-02', (n - 1) * 7);
  const id = `${date}-${n}`;
  const suffix = `-${n}`;
  return {
    ...base,
    id,
    number: n,
    date,
    slot: `${date.slice(0, 4)}-W${String(((n - 1) % 52) + 1).padStart(2, '0')}`,
    publishedAt: `${date}T07:00:00.000Z`,
    title: `${base.title.replace(/<[^>]*>/g, '')} (${n})`,
    sections: base.sections.map((s) => ({
      ...s,
      quotes: s.quotes.map((q) => ({
        ...q,
        id: q.id + suffix,
        counterpoints: q.counterpoints.map((c) => ({ ...c, quoteId: c.quoteId + suffix, counterQuoteId: c.counterQuoteId ? c.counterQuoteId + suffix : null })),
      })),
    })),
  };
}

/** Write synthetic issues from..to (inclusive) into a digests/ folder, issue n made from fixture n mod 3. */
export async function writeSyntheticIssues(digestsDir: string, from: number, to: number): Promise<Digest[]> {
  const bases = await fixtureDigests();
  const written: Digest[] = [];
  for (let n = from; n <= to; n++) {
    const d = syntheticDigest(bases[n % bases.length]!, n);
    await writeFile(path.join(digestsDir, `${d.id}.json`), JSON.stringify(d));
    written.push(d);
  }
  return written;
}

/** A temp copy of the fixture digests/ folder (with its seen.json, sends/ and a stray file). */
export async function tempDigests(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'archive-digests-'));
  await cp(RECORDS, dir, { recursive: true });
  return dir;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: opts.cwd, maxBuffer: 32 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function listFiles(dir: string, ext: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.name.endsWith(ext)) out.push(path.relative(dir, full).split(path.sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.xml': 'application/xml', '.png': 'image/png', '.wasm': 'application/wasm',
  '.pf_meta': 'application/octet-stream', '.pf_fragment': 'application/octet-stream', '.pf_index': 'application/octet-stream',
  '.pf_filter': 'application/octet-stream',
};

/** A static host like GitHub Pages: the site mounted at `mount` ("/debate-digest/"), 404.html for misses. */
export async function serveSite(siteDir: string, mount: string): Promise<{ origin: string; base: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let rel = decodeURIComponent(url.pathname);
    const notFound = async (): Promise<void> => {
      res.writeHead(404, { 'content-type': TYPES['.html'] });
      res.end(await readFile(path.join(siteDir, '404.html')).catch(() => 'not found'));
    };
    if (!rel.startsWith(mount)) return notFound();
    rel = rel.slice(mount.length);
    let file = path.join(siteDir, rel);
    if (!file.startsWith(siteDir)) return notFound();
    try {
      if ((await stat(file)).isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          res.writeHead(301, { location: `${url.pathname}/` });
          res.end();
          return;
        }
        file = path.join(file, 'index.html');
      }
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      await notFound();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    base: origin + mount,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);?/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * The attributes of every start tag in an HTML text, values entity-decoded: a small scanner, enough for our
 * output. A tag it cannot read to its end yields a `!malformed` attribute, so a broken tag fails the tests.
 */
export function tagAttributes(html: string): { tag: string; name: string; value: string }[] {
  const out: { tag: string; name: string; value: string }[] = [];
  const attrRe = /\s*([^\s=>/"'<]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"'=<`]+)))?/y;
  const endRe = /\s*\/?>/y;
  for (const m of html.matchAll(/<([a-z][a-z0-9-]*)(?=[\s/>])/gi)) {
    const tag = m[1]!.toLowerCase();
    let pos = m.index + m[0].length;
    for (;;) {
      endRe.lastIndex = pos;
      if (endRe.test(html)) break;
      attrRe.lastIndex = pos;
      const a = attrRe.exec(html);
      if (!a) {
        out.push({ tag, name: '!malformed', value: html.slice(m.index, m.index + 120) });
        break;
      }
      out.push({ tag, name: a[1]!.toLowerCase(), value: decodeEntities(a[2] ?? a[3] ?? a[4] ?? '') });
      pos = attrRe.lastIndex;
    }
  }
  return out;
}

/** Every URL-bearing attribute in an HTML text (href, src, action, cite), entity-decoded. */
export function urlAttributes(html: string): { attr: string; value: string }[] {
  return tagAttributes(html).filter((a) => ['href', 'src', 'action', 'cite'].includes(a.name)).map((a) => ({ attr: a.name, value: a.value }));
}

/**
 * Resolve every internal href/src/action of every built HTML file as a browser would (against the page's URL
 * under the base path) and check the target file exists and, for #fragments, that the id does.
 */
export async function findBrokenLinks(siteDir: string, basePath: string): Promise<string[]> {
  const origin = 'http://site.test';
  const pages = await listFiles(siteDir, '.html');
  const idCache = new Map<string, Set<string>>();
  const idsOf = async (file: string): Promise<Set<string>> => {
    let ids = idCache.get(file);
    if (!ids) {
      const html = await readFile(file, 'utf8');
      ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => decodeEntities(m[1]!)));
      idCache.set(file, ids);
    }
    return ids;
  };
  const broken: string[] = [];
  for (const page of pages) {
    const pageUrl = new URL(basePath + page.replace(/index\.html$/, ''), origin);
    const html = await readFile(path.join(siteDir, page), 'utf8');
    for (const bad of tagAttributes(html).filter((a) => a.name === '!malformed')) broken.push(`${page}: malformed tag ${bad.value}`);
    for (const { attr, value } of urlAttributes(html)) {
      if (attr === 'cite') continue;
      const target = new URL(value, pageUrl);
      if (target.origin !== origin) continue;
      if (!target.pathname.startsWith(basePath)) {
        broken.push(`${page}: ${value} (outside the base path ${basePath})`);
        continue;
      }
      let rel = decodeURIComponent(target.pathname.slice(basePath.length));
      if (rel === '' || rel.endsWith('/')) rel += 'index.html';
      const file = path.join(siteDir, rel);
      if (!existsSync(file)) {
        broken.push(`${page}: ${value} (no ${rel})`);
        continue;
      }
      const fragment = decodeURIComponent(target.hash.slice(1));
      if (fragment && rel.endsWith('.html') && !(await idsOf(file)).has(fragment)) broken.push(`${page}: ${value} (no id ${fragment} in ${rel})`);
    }
  }
  return broken;
}
