import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { fastSanitizeAndText, htmlToText, sanitizeAndText, sanitizeHtml } from '../../src/gather/sanitize.js';
import { rng } from '../../scripts/bench/workload.js';

/**
 * sanitizeAndText answers plain markup in one pass instead of sanitize-html + htmlToText. It must give the
 * same bytes as the full path (the text feeds content hashes and quote offsets; the HTML goes into email),
 * so every input here is run through both and compared.
 */
const slow = (html: string, base?: string) => {
  const safe = sanitizeHtml(html, base);
  return { html: safe, text: htmlToText(safe) };
};

const vectors = readFileSync(new URL('../fixtures/xss-vectors.txt', import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');

/** Item bodies from the real feed corpus and our hostile fixtures (CDATA or escaped, as written). */
function corpusFragments(): string[] {
  const dirs = [path.resolve(import.meta.dirname, '../../../shared/feeds/rss-parser'), '/work/shared/feeds/rss-parser', path.resolve(import.meta.dirname, '../fixtures/feeds/hostile')];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (seen.has(f)) continue;
      seen.add(f);
      const xml = readFileSync(path.join(d, f), 'latin1');
      for (const m of xml.matchAll(/<(description|content:encoded|summary|content)\b[^>]*>([\s\S]*?)<\/\1>/g)) {
        const raw = m[2]!;
        const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(raw);
        out.push(cdata ? cdata[1]! : raw.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
      }
    }
  }
  return out;
}


const PIECES = [
  'Hello', ' world', '\n', '\n\n', ' \n \n', '\t', '  ', '“quoted,”', ' — ', '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&nbsp;',
  '&#8220;', '&#x201D;', '&#10;', '&#32;', '&#0;', '&#128;', '&#xD800;', '&mdash;', '&amp', '& ', '>', '<', '< 3', 'é', '\r\n', '\u0000', '\u0085',
  '<p>', '</p>', '<br>', '<br/>', '<br />', '</br>', '<hr>', '<b>', '</b>', '<i>', '</i>', '<em>', '</em>', '<strong>', '</strong>',
  '<div>', '</div>', '<ul>', '</ul>', '<li>', '</li>', '<ol>', '</ol>', '<blockquote>', '</blockquote>', '<h2>', '</h2>', '<h3>', '</h3>',
  '<span>', '</span>', '<q>', '</q>', '<code>', '</code>', '<P>', '<p >', '<p/>', '<a href="/x">', '</a>', '<section>', '</section>',
  '<script>alert(1)</script>', '<pre>', '</pre>', '<img src="x.png">', '<!-- c -->', '<table>', '<td>',
];

function fuzzCase(r: () => number): string {
  const n = 1 + Math.floor(r() * 14);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

/** Well-formed plain markup (the shape the fast path exists for), with nesting. */
function plainCase(r: () => number, depth = 0): string {
  const blocks = ['p', 'div', 'blockquote', 'ul', 'li', 'h2', 'ol'];
  const inline = ['b', 'i', 'em', 'strong', 'span', 'q', 'code', 'cite', 'small'];
  const texts = ['Some text', ' and more ', '“Scaling,” he said.', 'a &amp; b', '&#8212;', '\nline\n\nbreak ', 'x&lt;y', '&nbsp;nb'];
  let s = '';
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.4) s += texts[Math.floor(r() * texts.length)]!;
    else if (k < 0.5) s += r() < 0.5 ? '<br>' : '<br />';
    else if (k < 0.75 || depth > 3) {
      const t = inline[Math.floor(r() * inline.length)]!;
      s += `<${t}>${depth > 4 ? 'leaf' : plainCase(r, depth + 1)}</${t}>`;
    } else {
      const t = blocks[Math.floor(r() * blocks.length)]!;
      s += `<${t}>${plainCase(r, depth + 1)}</${t}>`;
    }
  }
  return s;
}

/** htmlToText's text assembly as first written (split, trim, filter): the faster one must match it. */
function referenceText(html: string): string {
  const parts: string[] = [];
  let pre = 0;
  let skip = 0;
  const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'title', 'head', 'svg', 'math', 'iframe', 'object', 'textarea', 'select']);
  const BLOCKS = new Set(['p', 'div', 'section', 'article', 'header', 'footer', 'aside', 'nav', 'main', 'blockquote', 'pre', 'figure', 'figcaption', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'tr', 'hr', 'caption', 'address']);
  const p = new Parser({
    // A <q> shows its quotation marks, as a browser draws them.
    onopentag(n) { if (SKIPPED.has(n)) skip++; if (n === 'pre') pre++; if (n === 'br') parts.push('\n'); else if (BLOCKS.has(n)) parts.push('\n\n'); else if (n === 'q' && skip === 0) parts.push('“'); },
    ontext(t) {
      if (skip > 0) return;
      // eslint-disable-next-line no-control-regex
      const c = t.replace(/[\u0000-\u0002]/g, '').replace(/\r\n?/g, '\n');
      parts.push(pre > 0 ? c.replace(/ /g, '\u0000').replace(/\n/g, '\u0001') : c.replace(/\n(?:[ \t]*\n)+/g, '\u0002').replace(/\n/g, ' ').replace(/\u0002/g, '\n\n'));
    },
    onclosetag(n) { if (SKIPPED.has(n)) skip = Math.max(0, skip - 1); if (n === 'pre') pre = Math.max(0, pre - 1); if (BLOCKS.has(n)) parts.push('\n\n'); else if (n === 'q' && skip === 0) parts.push('”'); },
  }, { decodeEntities: true, lowerCaseTags: true });
  p.write(html);
  p.end();
  const lines = parts.join('').replace(/[ \t\f\v\r\u00a0]+/g, ' ').split('\n').map((l) => l.trim());
  const out: string[] = [];
  for (const l of lines) if (!(l === '' && (out.length === 0 || out[out.length - 1] === ''))) out.push(l);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.join('\n').replace(/\u0000/g, ' ').replace(/\u0001/g, '\n');
}

describe('htmlToText matches its straightforward reference', () => {
  it('over fuzzed fragments and the seeds', () => {
    const r = rng(77);
    for (let i = 0; i < 3000; i++) {
      const s = i % 2 === 0 ? fuzzCase(r) + '<pre> a \n  b\r\n</pre>\u00a0 \t\n \n' : plainCase(r);
      expect(htmlToText(s), JSON.stringify(s)).toBe(referenceText(s));
    }
  });
});

describe('sanitizeAndText: the one-pass path agrees with sanitize-html + htmlToText', () => {
  it('takes the fast path for plain paragraphs (so the comparisons below exercise it)', () => {
    const body = '<p>Models “generalize worse,” Ilya Sutskever said. More &amp; more.</p>\n<p>Second<br>line</p>';
    expect(fastSanitizeAndText(body)).toEqual(slow(body));
    expect(fastSanitizeAndText(body)).not.toBeNull();
    expect(fastSanitizeAndText('<p>a <a href="/x">link</a></p>')).toBeNull();
    expect(fastSanitizeAndText('<p>a<div>b</div></p>')).toBeNull();
    expect(fastSanitizeAndText('<p>unclosed')).toBeNull();
  });

  it('over the XSS corpus (never taking the fast path for live markup)', () => {
    for (const base of [undefined, 'https://example.org/feed/']) {
      for (const v of vectors) expect(sanitizeAndText(v, base), v).toEqual(slow(v, base));
    }
  });

  it('over item bodies of the real feed corpus', () => {
    const frags = corpusFragments();
    expect(frags.length).toBeGreaterThan(200);
    let fast = 0;
    for (const f of frags) {
      if (fastSanitizeAndText(f) !== null) fast++;
      expect(sanitizeAndText(f, 'https://feeds.example/'), f).toEqual(slow(f, 'https://feeds.example/'));
    }
    expect(fast).toBeGreaterThan(10);
  });

  it('over 4,000 fuzzed fragments mixing plain and hostile pieces', () => {
    const r = rng(1125);
    let fast = 0;
    for (let i = 0; i < 4000; i++) {
      const s = i % 2 === 0 ? fuzzCase(r) : plainCase(r);
      if (fastSanitizeAndText(s) !== null) fast++;
      expect(sanitizeAndText(s), JSON.stringify(s)).toEqual(slow(s));
    }
    expect(fast).toBeGreaterThan(1500);
  });
});
