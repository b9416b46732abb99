import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFragment, type DefaultTreeAdapterMap } from 'parse5';
import { MAX_HTML_DEPTH, htmlToText, sanitizeHtml } from '../../src/gather/sanitize.js';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

const vectors = readFileSync(new URL('../fixtures/xss-vectors.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');

const FORBIDDEN_ELEMENTS = new Set([
  'script', 'style', 'svg', 'math', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input',
  'button', 'meta', 'base', 'link', 'textarea', 'select', 'option', 'template', 'noscript', 'xmp', 'body', 'video',
  'audio', 'source', 'details', 'marquee', 'isindex', 'bgsound',
]);
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'data', 'background', 'dynsrc', 'lowsrc', 'cite', 'poster', 'xlink:href']);

function elements(node: Node, out: Element[] = []): Element[] {
  if ('tagName' in node) out.push(node as Element);
  const children = 'childNodes' in node ? (node.childNodes as Node[]) : [];
  for (const c of children) elements(c, out);
  // <template> content lives apart from childNodes in parse5.
  if ('content' in node && node.content) elements(node.content as Node, out);
  return out;
}

/** What a browser would see as the scheme: it strips ASCII whitespace and control characters first. */
function schemeOf(value: string): string | null {
  // eslint-disable-next-line no-control-regex
  const squashed = value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
  const m = /^([a-z][a-z0-9+.-]*):/.exec(squashed);
  return m ? m[1]! : null;
}

/** Every reason the sanitized output could still run code or track, as a list of findings. */
function liveFindings(html: string): string[] {
  const findings: string[] = [];
  for (const el of elements(parseFragment(html) as unknown as Node)) {
    if (FORBIDDEN_ELEMENTS.has(el.tagName)) findings.push(`<${el.tagName}>`);
    for (const a of el.attrs) {
      if (/^on/i.test(a.name)) findings.push(`${el.tagName}[${a.name}]`);
      if (a.name === 'style') findings.push(`${el.tagName}[style]`);
      if (URL_ATTRS.has(a.name)) {
        const s = schemeOf(a.value);
        if (s !== null && !['http', 'https', 'mailto'].includes(s)) findings.push(`${el.tagName}[${a.name}=${a.value}]`);
        // Resolve the way a browser would: a javascript: left in a path of an https URL is inert text.
        let protocol = 'invalid:';
        try {
          protocol = new URL(a.value, 'https://base.invalid/').protocol;
        } catch { /* unparseable URLs do not navigate */ }
        if (!['http:', 'https:', 'mailto:', 'invalid:'].includes(protocol)) findings.push(`${el.tagName}[${a.name}] resolves to ${protocol}`);
      }
    }
    if (el.tagName === 'a' && el.attrs.some((a) => a.name === 'target')) {
      const rel = el.attrs.find((a) => a.name === 'rel')?.value ?? '';
      if (!/noopener/.test(rel) || !/noreferrer/.test(rel)) findings.push('a[target] without rel=noopener noreferrer');
    }
    if (el.tagName === 'img') {
      const w = el.attrs.find((a) => a.name === 'width')?.value;
      const h = el.attrs.find((a) => a.name === 'height')?.value;
      if (w === '1' || h === '1') findings.push('1x1 tracking image');
    }
  }
  return findings;
}

describe('sanitizeHtml over the XSS corpus', () => {
  it('has a broad corpus', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(60);
  });

  it('the checker itself finds live code in unsanitized input (so the test can fail)', () => {
    const raw = vectors.flatMap((v) => liveFindings(v));
    expect(raw.length).toBeGreaterThan(60);
  });

  for (const base of [undefined, 'https://example.org/feed/']) {
    it(`leaves no script, handler, style or bad URL scheme (base ${base ?? 'none'})`, () => {
      const failures: string[] = [];
      for (const v of vectors) {
        const out = sanitizeHtml(v, base);
        const found = liveFindings(out);
        if (found.length) failures.push(`${v}\n  → ${out}\n  ${found.join(', ')}`);
        // Re-sanitizing is stable: nothing hides behind a second parse.
        expect(sanitizeHtml(out, base)).toBe(out);
      }
      expect(failures).toEqual([]);
    });
  }

  it('markup nested too deep to parse is reduced to escaped text, and still nothing live survives', () => {
    const deep = (inner: string) => '<div>'.repeat(MAX_HTML_DEPTH + 5) + inner + '</div>'.repeat(MAX_HTML_DEPTH + 5);
    const failures: string[] = [];
    for (const v of vectors) {
      const out = sanitizeHtml(deep(`before ${v} after`));
      const found = liveFindings(out);
      if (found.length) failures.push(`${v}\n  → ${out}\n  ${found.join(', ')}`);
    }
    expect(failures).toEqual([]);
    expect(sanitizeHtml(deep('<p>Hello <script>alert(1)</script><b>world</b></p>'))).toBe('<p>Hello world</p>');
    expect(htmlToText(deep('<p>Hello <script>alert(1)</script><b>world</b> &amp; more</p>'))).toBe('Hello world & more');
  });

  it('keeps ordinary content, makes links absolute and adds rel to target=_blank', () => {
    const out = sanitizeHtml('<p>Hello <a href="/post/1" target="_blank">post</a> <img src="img/a.png" alt="A" width="300"></p><blockquote>quoted</blockquote>', 'https://example.org/blog/');
    expect(out).toBe('<p>Hello <a href="https://example.org/post/1" target="_blank" rel="noopener noreferrer">post</a> <img src="https://example.org/blog/img/a.png" alt="A" width="300" /></p><blockquote>quoted</blockquote>');
  });

  it('drops tracking pixels and images without a usable src', () => {
    expect(sanitizeHtml('<p>a<img src="https://t.example/p.gif" width="1" height="1">b<img src="javascript:alert(1)"></p>')).toBe('<p>ab</p>');
  });

  it('drops style attributes and <style>, keeps the text of unknown wrappers', () => {
    expect(sanitizeHtml('<section style="position:fixed">kept <style>p{}</style><font color=red>text</font></section>')).toBe('kept text');
  });
});

describe('htmlToText', () => {
  it('shows a <q> with its quotation marks, as browsers do, so the quote finder sees a quotation', async () => {
    const html = '<p>Renn replied that <q>a bigger curve-fitter is still a curve-fitter</q>.</p>';
    expect(htmlToText(html)).toBe('Renn replied that “a bigger curve-fitter is still a curve-fitter”.');
    // The one-pass path for plain markup gives the same text.
    const { sanitizeAndText } = await import('../../src/gather/sanitize.js');
    expect(sanitizeAndText(html).text).toBe(htmlToText(sanitizeHtml(html)));
  });

  it('turns blocks into paragraphs and decodes entities', () => {
    expect(htmlToText('<h1>Title</h1><p>One &amp; two&nbsp;three</p><p>Line<br>break</p><ul><li>a</li><li>b</li></ul>'))
      .toBe('Title\n\nOne & two three\n\nLine\nbreak\n\na\n\nb');
  });

  it('treats single newlines in HTML as spaces but keeps blank-line paragraphs of plain text', () => {
    expect(htmlToText('First line\ncontinues.\n\nSecond paragraph.')).toBe('First line continues.\n\nSecond paragraph.');
  });

  it('drops script and style content and keeps <pre> spacing', () => {
    expect(htmlToText('<script>alert(1)</script><style>p{}</style><pre>a  b\n  c</pre>')).toBe('a  b\n  c');
  });
});
