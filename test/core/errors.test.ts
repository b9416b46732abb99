import { describe, expect, it } from 'vitest';
import { DigestError, ERROR_CODES, redactUrl } from '../../src/errors.js';

describe('errors', () => {
  // Codes are a public contract (scripts branch on them): this list may only grow.
  it('keeps every published error code', () => {
    const published = [
      'CONFIG_MISSING', 'CONFIG_INVALID', 'ENV_MISSING', 'USAGE', 'FEED_FETCH_FAILED', 'FEED_TIMEOUT', 'FEED_TOO_LARGE',
      'FEED_BLOCKED_ADDRESS', 'FEED_TOO_MANY_REDIRECTS', 'FEED_HTTP_STATUS', 'FEED_RATE_LIMITED', 'FEED_PARSE_FAILED',
      'FEED_ENTITY_REJECTED', 'FILE_UNREADABLE', 'FRONT_MATTER_INVALID', 'NOTHING_USABLE', 'RECORD_INVALID',
      'RENDER_FAILED', 'SITE_BUILD_FAILED', 'SUBSCRIBERS_INVALID', 'SMTP_AUTH_FAILED', 'SEND_ABORTED', 'LEDGER_CORRUPT',
      'ISSUE_NOT_FOUND',
    ];
    for (const code of published) expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it('formats code, origin and hint, and maps config errors to exit 2', () => {
    const e = new DigestError('CONFIG_INVALID', 'feeds[0].url: not a URL', { origin: 'sources/feeds.yaml:3', hint: 'write a full address' });
    expect(e.format()).toBe('error CONFIG_INVALID at sources/feeds.yaml:3: feeds[0].url: not a URL\n  hint: write a full address');
    expect(e.exitCode).toBe(2);
    expect(new DigestError('SEND_ABORTED', 'x', { hint: 'y' }).exitCode).toBe(1);
  });

  it.each([
    ['https://user:pa55@feeds.example.org/rss?token=abc&x=1', 'https://feeds.example.org/rss?token=REDACTED&x=1'],
    ['smtp://me:secret@127.0.0.1:2525', 'smtp://127.0.0.1:2525'],
    ['not a url but has //me:pw@host/x', 'not a url but has //host/x'],
  ])('redacts credentials from %s', (raw, want) => {
    expect(redactUrl(raw)).toBe(want);
    expect(redactUrl(raw)).not.toMatch(/pa55|secret|abc|pw@/);
  });
});
