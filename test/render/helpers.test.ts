import { describe, expect, it } from 'vitest';
import Handlebars from 'handlebars';
import { formatDate, oneLine, registerHelpers, safeUrl, statusLabel, statusShort } from '../../src/render/helpers.js';

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

describe('dates, labels, one-line text', () => {
  it('formats in the configured time zone', () => {
    expect(formatDate('2026-11-30', 'UTC')).toBe('November 30, 2026');
    expect(formatDate('2026-11-30', 'Pacific/Auckland')).toBe('November 30, 2026');
    expect(formatDate('2026-11-30T23:30:00Z', 'Europe/Paris')).toBe('December 1, 2026');
    expect(formatDate('2026-11-30T23:30:00Z', 'America/New_York')).toBe('November 30, 2026');
    expect(formatDate('2026-11-30T23:30:00Z', 'Europe/Paris', 'd LLL yyyy')).toBe('1 Dec 2026');
    expect(formatDate('not a date', 'UTC')).toBe('');
  });
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
    registerHelpers(hb, { timeZone: 'UTC' });
    expect(hb.compile('<a href="{{safeUrl u}}">{{formatDate d}}</a>')({ u: 'javascript:x', d: '2026-11-30' })).toBe('<a href="">November 30, 2026</a>');
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
