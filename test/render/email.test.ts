/**
 * The email as rendered once per issue: content, structure, hostile input, the size budget, personalisation,
 * and how it looks in a real browser at phone and desktop widths (screenshots in test-artifacts/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { renderEmail, personalize, UNSUBSCRIBE_PLACEHOLDER, emailSubject } from '../../src/render/email.js';
import type { Config, RenderedEmail } from '../../src/model.js';
import { loadDigest, testConfig } from '../deliver/smtp-sink.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const config = testConfig();
const urls = { webUrl: 'https://example.github.io/issues/2026-11-30-3/', archiveUrl: 'https://example.github.io/' };
let realistic: RenderedEmail;
let hostile: RenderedEmail;
let huge: RenderedEmail;

beforeAll(async () => {
  realistic = await renderEmail(loadDigest('realistic'), config, urls);
  hostile = await renderEmail(loadDigest('hostile'), config, urls);
  huge = await renderEmail(loadDigest('huge'), config, urls);
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(`${artifacts}email-realistic.html`, personalize(realistic, { unsubscribeUrl: 'https://subscribe.example.org/unsubscribe?token=t' }).html);
  writeFileSync(`${artifacts}email-realistic.txt`, personalize(realistic, { unsubscribeUrl: 'https://subscribe.example.org/unsubscribe?token=t' }).text);
  // The figure the brief asks for: how big the realistic issue's HTML is.
  console.log(`email HTML size, realistic sample issue: ${realistic.htmlBytes} bytes (${(realistic.htmlBytes / 1024).toFixed(1)} KB), budget ${config.email.maxHtmlBytes}`);
});

describe('renderEmail: the realistic issue', () => {
  it('has every part a reader needs', () => {
    const h = realistic.html;
    expect(realistic.trimmed).toBe(0);
    expect(realistic.htmlBytes).toBe(Buffer.byteLength(h));
    expect(realistic.htmlBytes).toBeLessThan(config.email.maxHtmlBytes);
    expect(h).toMatch(/<html[^>]* lang="en"/);
    expect(h).toContain('role="presentation"');
    expect(h).toContain('name="color-scheme"');
    expect(h).toContain('prefers-color-scheme: dark');
    expect(h).toContain('Sutskever says scaling alone won'); // preheader
    for (const title of ['The end of the scaling era', 'Generalization and sample efficiency', 'Evals, RL environments and reward hacking', 'Continual learning and deployment', 'Research taste', 'Compute and economics']) {
      expect(h).toContain(title);
    }
    expect(h).toContain('Ilya Sutskever');
    expect(h).toContain('as quoted by Notes - Dwarkesh Patel - Ilya Sutskever');
    expect(h).toContain('Counterpoint');
    expect(h).toContain('Corroborated</span> · Age of research');
    expect(h).toContain('Renata Sollberger');
    for (const badge of ['Verified', 'Corroborated', 'Single source', 'Paraphrase']) expect(h).toContain(badge);
    expect(h).toContain('You get this email because you subscribed');
    expect(h).toContain(`href="${urls.webUrl}"`);
    expect(h).toContain(`href="${UNSUBSCRIBE_PLACEHOLDER}"`);
    expect(h).toContain('Issue #3 · November 30, 2026');
    expect(h).not.toContain('{{');
    // Images, if a template ever adds one, carry alt text.
    for (const img of h.matchAll(/<img\b[^>]*>/gi)) expect(img[0]).toMatch(/\balt="/);
  });

  it('has a subject with the issue number and date', () => {
    expect(realistic.subject).toBe('Debate Digest: generalization is the crux · #3 · November 30, 2026');
  });

  it('has a plain-text part of its own, with numbered links listed at the end', () => {
    const t = realistic.text;
    expect(t).not.toMatch(/<[a-z]/i);
    expect(t).toContain('== The end of the scaling era ==');
    expect(t).toContain('— as quoted by Notes - Dwarkesh Patel - Ilya Sutskever [Single source]');
    expect(t).toContain('Counterpoint: "Scaling was never going to be enough');
    const tail = t.slice(t.indexOf('\nLinks:\n'));
    expect(tail).toContain(`[1] ${urls.webUrl}`);
    expect(tail).toMatch(/\[2\] https:\/\/tmtbreakout\.substack\.com\//);
    // Every [n] used in the text is listed.
    const used = new Set([...t.slice(0, t.indexOf('\nLinks:\n')).matchAll(/\[(\d+)\]/g)].map((m) => m[1]));
    for (const n of used) expect(tail).toContain(`[${n}] http`);
    expect(t).toContain(`Unsubscribe: ${UNSUBSCRIBE_PLACEHOLDER}`);
    // Wrapped at 72 columns; only a single unbreakable word (a URL) may run longer.
    for (const line of t.split('\n')) if (line.length > 72) expect(line.trim().split(' ').some((w) => w.length > 40), line).toBe(true);
  });

  it('matches the reviewed snapshots (a template or MJML change shows up as a diff)', async () => {
    await expect(realistic.text).toMatchFileSnapshot('./__snapshots__/realistic.txt');
    await expect(realistic.html).toMatchFileSnapshot('./__snapshots__/realistic.html');
  });

  it('renders an issue with no sections (nothing but the frame) without failing', async () => {
    const empty = { ...loadDigest('realistic'), sections: [], intro: '' };
    const r = await renderEmail(empty, config, urls);
    expect(r.trimmed).toBe(0);
    expect(r.html).toContain('Unsubscribe');
    expect(r.text).toContain('Unsubscribe:');
  });

  it('is deterministic', async () => {
    const again = await renderEmail(loadDigest('realistic'), config, urls);
    expect(again.html).toBe(realistic.html);
    expect(again.text).toBe(realistic.text);
  });

  it('personalize fills the placeholder in both parts by replacement, escaping for HTML', () => {
    const url = 'https://subscribe.example.org/unsubscribe?token=abc.def&list=x';
    const p = personalize(realistic, { unsubscribeUrl: url });
    expect(p.html).not.toContain(UNSUBSCRIBE_PLACEHOLDER);
    expect(p.text).not.toContain(UNSUBSCRIBE_PLACEHOLDER);
    expect(p.html).toContain(`href="https://subscribe.example.org/unsubscribe?token=abc.def&amp;list=x"`);
    expect(p.text).toContain(`Unsubscribe: ${url}`);
    expect(personalize(realistic, { unsubscribeUrl: 'javascript:alert(1)' }).html).not.toContain('javascript:');
  });
});

describe('renderEmail: hostile feed text', () => {
  it('lets no script, javascript: URL or MJML injection through', () => {
    const h = hostile.html;
    expect(h).not.toMatch(/<script/i);
    expect(h).not.toMatch(/javascript:/i);
    expect(h).not.toMatch(/vbscript:/i);
    expect(h).not.toMatch(/<mj-/i);
    expect(h).not.toMatch(/<img/i);
    expect(h).not.toMatch(/\son(error|mouseover)=/i);
    for (const m of h.matchAll(/href="([^"]*)"/g)) expect(m[1]).toMatch(/^(https?:\/\/|mailto:)|^https:\/\/unsubscribe\.invalid\//);
    // The words are still shown, as text.
    expect(h).toContain('&lt;/mj-text&gt;&lt;mj-raw&gt;&lt;script&gt;');
    expect(hostile.text).not.toMatch(/javascript:/i);
  });

  it('keeps CR/LF and control characters out of the subject', () => {
    expect(hostile.subject).not.toMatch(/[\r\n\u0000-\u001f]/);
    expect(hostile.subject).toContain('#666');
  });
});

describe('renderEmail: size budget', () => {
  it('trims the lowest-scoring quotes of a 200-quote issue to fit, and says how many with a link to the web', () => {
    const digest = loadDigest('huge');
    expect(huge.trimmed).toBeGreaterThan(0);
    expect(huge.htmlBytes).toBeLessThan(config.email.maxHtmlBytes);
    expect(huge.html).toContain(`${huge.trimmed} quotes were left out`);
    expect(huge.html).toMatch(/left out<\/strong> to keep this email short\. <a href="https:\/\/example\.github\.io\/issues\/2026-11-30-3\/">Read the full issue on the web/);
    expect(huge.text).toContain(`${huge.trimmed} quotes were left out`);
    const all = digest.sections.flatMap((s) => s.quotes);
    const kept = all.filter((q) => huge.html.includes(`Quote ${q.text.slice(6, q.text.indexOf(':'))}:`));
    expect(kept.length).toBe(all.length - huge.trimmed);
    const dropped = all.filter((q) => !kept.includes(q));
    expect(Math.min(...kept.map((q) => q.score))).toBeGreaterThanOrEqual(Math.max(...dropped.map((q) => q.score)));
    // Near the budget, not trimmed far below it (binary search keeps as many as fit).
    expect(huge.htmlBytes).toBeGreaterThan(config.email.maxHtmlBytes * 0.9);
    console.log(`200-quote issue: ${huge.trimmed} quotes trimmed, HTML ${huge.htmlBytes} bytes`);
  });

  it('respects a smaller budget from config', async () => {
    const small: Config = { ...config, email: { ...config.email, maxHtmlBytes: 30_000 } };
    const r = await renderEmail(loadDigest('realistic'), small, urls);
    expect(r.htmlBytes).toBeLessThan(30_000);
    expect(r.trimmed).toBeGreaterThan(0);
    // Even personalised with a long unsubscribe URL it stays within budget.
    const p = personalize(r, { unsubscribeUrl: 'https://subscribe.example.org/unsubscribe?token=' + 'x'.repeat(300) });
    expect(Buffer.byteLength(p.html)).toBeLessThan(30_000);
  });

  it('emailSubject appends the number and date only when missing', () => {
    const d = loadDigest('realistic');
    expect(emailSubject({ ...d, subject: 'Issue #3 — 30 Nov 2026' }, config)).toBe('Issue #3 — 30 Nov 2026');
    // A record whose date cannot be read gets no dangling separator.
    expect(emailSubject({ ...d, subject: 'Weekly', number: 3, date: '2026-02-30' }, config)).toBe('Weekly · #3');
    expect(emailSubject({ ...d, subject: 'x'.repeat(400) }, config).length).toBeLessThanOrEqual(200);
  });
});

describe('the email in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const [width, scheme] of [[375, 'light'], [800, 'light'], [375, 'dark']] as const) {
    it(`fits ${width} px (${scheme}) without horizontal scrolling; screenshot saved`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: scheme });
      // Nothing may load from the network: an email with remote resources would show that here.
      const requests: string[] = [];
      await page.route('**/*', (route) => {
        requests.push(route.request().url());
        return route.abort();
      });
      const { html } = personalize(realistic, { unsubscribeUrl: 'https://subscribe.example.org/unsubscribe?token=t' });
      await page.setContent(html, { waitUntil: 'load' });
      const scrollWidth = await page.evaluate(() => document.scrollingElement!.scrollWidth);
      expect(scrollWidth).toBeLessThanOrEqual(width);
      expect(requests).toEqual([]);
      const visibleUnsubscribe = await page.getByRole('link', { name: 'Unsubscribe' }).isVisible();
      expect(visibleUnsubscribe).toBe(true);
      if (scheme === 'dark') {
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect(bg).toBe('rgb(18, 20, 22)');
      }
      await page.screenshot({ path: `${artifacts}email-${width}${scheme === 'dark' ? '-dark' : ''}.png`, fullPage: true });
      await page.close();
    });
  }
});
