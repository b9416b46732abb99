import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedServer, listFiles, runCli, tempProject } from '../helpers/project.js';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** Every element in a parsed document. */
function elements(node: Node, out: Element[] = []): Element[] {
  if ('tagName' in node) out.push(node);
  const kids = 'childNodes' in node ? node.childNodes : [];
  for (const k of kids) elements(k, out);
  if ('content' in node && node.content) elements(node.content as Node, out);
  return out;
}

/** Live markup an attacker could use: anything but our own head styles and our own external scripts. */
function liveMarkup(html: string, ownScriptPrefix: string): string[] {
  const found: string[] = [];
  for (const el of elements(parse(html))) {
    const tag = el.tagName.toLowerCase();
    if (['iframe', 'object', 'embed', 'form', 'svg', 'math', 'base', 'frame', 'frameset', 'applet'].includes(tag)) found.push(`<${tag}>`);
    if (tag === 'script') {
      const src = el.attrs.find((a) => a.name === 'src')?.value ?? '';
      if (!src.startsWith(ownScriptPrefix) || el.childNodes.length) found.push(`<script src="${src}">`);
    }
    if (tag === 'meta' && el.attrs.some((a) => a.name === 'http-equiv' && /refresh/i.test(a.value))) found.push('<meta refresh>');
    for (const a of el.attrs) {
      if (/^on/i.test(a.name)) found.push(`${tag}[${a.name}]`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'background', 'poster'].includes(a.name) && /^\s*(javascript|vbscript|data):/i.test(a.value.replace(/[\u0000-\u0020]+/g, '')))
        found.push(`${tag}[${a.name}=${a.value.slice(0, 30)}]`);
      if (a.name === 'style' && /expression|javascript|url\(/i.test(a.value)) found.push(`${tag}[style=${a.value.slice(0, 30)}]`);
    }
  }
  return found;
}

// The OWASP filter-evasion vectors (test/fixtures/xss-vectors.txt) arrive in a feed's titles, summaries and
// content, inside quoted sentences the analyzer will pick up; the email and the archive must carry none of
// them as live markup.
describe('hostile feed content, end to end', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof feedServer>>;
  let vectors: string[];

  beforeAll(async () => {
    vectors = (await readFile(path.resolve(__dirname, '../fixtures/xss-vectors.txt'), 'utf8')).split('\n').filter((l) => l.trim());
    const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
    const items = vectors.map((v, i) => `<item><title>${cdata(`Scaling news ${i} ${v}`)}</title><link>https://hostile.example/p/${i}</link><guid>hostile-${i}</guid>` +
      `<pubDate>Mon, 30 Nov 2026 0${i % 10}:00:00 GMT</pubDate><description>${cdata(`<p>${v}</p><p>“The age of scaling is over, and ${v} we are back in the age of research with big computers,” Ilya Sutskever said.</p>`)}</description>` +
      `<content:encoded>${cdata(`<blockquote>${v} Models generalize dramatically worse than people, and that is the crux of it.</blockquote><p>Gary Marcus said: “${v} The paradigm itself is the problem, not the scale.”</p>`)}</content:encoded></item>`);
    const rss = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Hostile</title><link>https://hostile.example/</link><description>x</description>${items.join('')}</channel></rss>`;
    server = await feedServer({ '/hostile.xml': { body: rss } });
    dir = await tempProject({ feedsYaml: `feeds:\n  - url: ${server.url}/hostile.xml\n    title: Hostile <script>alert(1)</script>\n` });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'sources', 'settings.yaml'), 'site:\n  basePath: /debate-digest/\ngather:\n  allowPrivateHosts: ["127.0.0.1"]\n  maxItemsPerFeed: 1000\n');
    const r = await runCli(['run', '--now', '2026-11-30T12:00:00Z'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => server?.close());

  it('the issue quotes the hostile items, and its page, home page and feeds carry no live markup', async () => {
    const record = JSON.parse(await readFile(path.join(dir, 'digests', '2026-11-30-1.json'), 'utf8')) as { stats: { quotes: number } };
    expect(record.stats.quotes).toBeGreaterThan(3);
    for (const page of ['issues/2026-11-30-1/index.html', 'index.html']) {
      const html = await readFile(path.join(dir, '_site', page), 'utf8');
      expect(liveMarkup(html, '/debate-digest/assets/'), page).toEqual([]);
    }
    for (const f of (await listFiles(path.join(dir, '_site', 'themes'))).filter((f) => f.endsWith('.html')))
      expect(liveMarkup(await readFile(path.join(dir, '_site', 'themes', f), 'utf8'), '/debate-digest/assets/'), f).toEqual([]);
    const feed = JSON.parse(await readFile(path.join(dir, '_site', 'feed.json'), 'utf8')) as { items: { content_html: string }[] };
    for (const item of feed.items) expect(liveMarkup(item.content_html, '/never/')).toEqual([]);
  });

  it('the email carries no live markup and a clean subject', async () => {
    const emls = (await listFiles(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'));
    expect(emls.length).toBeGreaterThan(0);
    const mail = await simpleParser(await readFile(path.join(dir, 'outbox', emls[0] as string)));
    expect(liveMarkup(String(mail.html), '/never/')).toEqual([]);
    expect(mail.subject).not.toMatch(/[\r\n<>]/);
  });
});
