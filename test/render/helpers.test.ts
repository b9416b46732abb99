import { describe, expect, it } from 'vitest';
import Handlebars from 'handlebars';
import { oneLine, registerHelpers, safeUrl, statusLabel, statusShort } from '../../src/render/helpers.js';

describe('safeUrl', () => {
  it.each([
    ['https://example.org/a?b=1&c=2', 'https://example.org/a?b=1&c=2'],
    ['http://example.org', 'http://example.org/'],
    ['mailto:unsubscribe@example.org?subject=unsubscribe', 'mailto:unsubscribe@example.org?subject=unsubscribe'],
    ['  https://example.org/x  ', 'https://example.org/x'],
    ['javascript:alert(1)', ''],
    [' JaVaScRiPt:alert(1)', ''],
    ['java\nscript:alert(1)', ''],
    ['java\tscript:alert(1)', ''],
    ['\u0000javascript:alert(1)', ''],
    ['vbscript:msgbox(1)', ''],
    ['data:text/html,<script>alert(1)</script>', ''],
    ['file:///etc/passwd', ''],
    ['//evil.example/x', ''],
    ['/relative', ''],
    ['https://', ''],
    ['', ''],
    [null, ''],
    [42, ''],
  ])('%j → %j', (input, out) => {
    expect(safeUrl(input)).toBe(out);
  });
});

describe('labels, one-line text', () => {
  it('labels every verbatim status', () => {
    expect(statusShort('verified')).toBe('Verified');
    expect(statusLabel('paraphrase')).toMatch(/not the speaker/);
    expect(statusShort('bogus')).toBe('Unchecked');
  });
  it('oneLine removes CR/LF and control characters', () => {
    expect(oneLine('a\r\nBcc: x\u0000\u2028b')).toBe('a Bcc: x b');
  });
  it('registers helpers on an isolated Handlebars', () => {
    const hb = Handlebars.create();
    registerHelpers(hb);
    expect(hb.compile('<a href="{{safeUrl u}}">{{statusShort s}}</a>')({ u: 'javascript:x', s: 'verified' })).toBe('<a href="">Verified</a>');
    expect(Handlebars.helpers.safeUrl).toBeUndefined();
  });
});

describe('plain-text wrapping', async () => {
  const { wrapLine } = await import('../../src/render/text.js');
  it('wraps at word boundaries with aligned continuation, and keeps long words whole', () => {
    const quote = '  "' + 'word '.repeat(30).trim() + '"';
    const lines = wrapLine(quote).split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(72);
    for (const l of lines.slice(1)) expect(l.startsWith('   word')).toBe(true);
    expect(wrapLine('short')).toBe('short');
    const url = 'https://example.org/' + 'x'.repeat(100);
    expect(wrapLine(`see ${url} now`).split('\n')).toEqual(['see', url, 'now']);
  });
});
