import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlToText } from '../../src/gather/sanitize.js';
import type { Digest } from '../../src/model.js';
import { FEEDS, feedServer, listFiles, runCli, snapshot, tempProject, type CliResult } from '../helpers/project.js';

// The whole pipeline through the real CLI: seeds as dropped files, one working local feed, one broken feed,
// real MJML, real Eleventy, real .eml files parsed by a real MIME parser.
describe('digest run, end to end', () => {
  let dir: string;
  let first: CliResult;
  let server: Awaited<ReturnType<typeof feedServer>>;
  const now = '2026-11-30T07:00:00Z';

  beforeAll(async () => {
    server = await feedServer({
      '/feed.xml': { body: await readFile(path.join(FEEDS, 'gulp-atom.atom')), type: 'application/atom+xml' },
      '/rss.xml': { body: await readFile(path.join(FEEDS, 'heise.atom')), type: 'application/atom+xml' },
    });
    dir = await tempProject({
      seeds: true,
      // One of three feeds fails and one dropped file has a broken front matter block: the issue is still made.
      feedsYaml: `feeds:\n  - url: ${server.url}/feed.xml\n    title: Local feed\n  - url: ${server.url}/broken.xml\n    title: Broken feed\n  - url: ${server.url}/rss.xml\n    title: Another feed\n`,
      dropped: { 'notes/broken.md': '---\ntitle: [unclosed\nurl: https://example.org/x\n---\nBody text that is never read.\n' },
    });
    // Tests may reach 127.0.0.1 only because the config says so; the feed's entries are years old.
    const { writeFile } = await import('node:fs/promises');
    // ...and keeps the shipped settings' counterpoints set by hand (analyze.pairs), which name seed passages.
    const shipped = await readFile(path.join(__dirname, '../../sources/settings.yaml'), 'utf8');
    const analyzeBlock = shipped.slice(shipped.indexOf('\nanalyze:') + 1);
    await writeFile(path.join(dir, 'sources', 'settings.yaml'), `site:\n  basePath: /debate-digest/\ngather:\n  allowPrivateHosts: ["127.0.0.1"]\n  backfillDays: 100000\n${analyzeBlock}`);
    first = await runCli(['run', '--now', now], { cwd: dir });
  }, 240_000);

  afterAll(async () => server?.close());

  it('exits 0, prints a line per stage and a summary', () => {
    expect(first.stderr + first.stdout).not.toMatch(/error: /);
    expect(first.code, first.stderr).toBe(0);
    for (const stage of ['gather', 'analyze', 'compose', 'publish', 'site', 'render', 'deliver']) expect(first.stdout).toMatch(new RegExp(`^${stage}\\s`, 'm'));
    expect(first.stdout).toMatch(/^done: issue #1 \(2026-11-30-1\) · \d+ items gathered, \d+ new · \d+ quotes · \d+ themes · \d+ pages · 3 messages written/m);
  });

  it('names the broken feed and the broken front matter as problems and still makes the issue', () => {
    expect(first.stderr).toMatch(/problem FEED_\w+ at http:\/\/127\.0\.0\.1:\d+\/broken\.xml/);
    expect(first.stderr).toMatch(/problem FRONT_MATTER_INVALID at notes\/broken\.md:\d+/);
    expect(first.stdout).toMatch(/^done: issue #1/m);
  });

  it('writes the record, the seen ledger, the archive and the feed', async () => {
    const record = JSON.parse(await readFile(path.join(dir, 'digests', '2026-11-30-1.json'), 'utf8'));
    expect(record.number).toBe(1);
    expect(record.slot).toBe('2026-W49');
    expect(record.stats.quotes).toBeGreaterThan(3);
    // The record counts this issue's new items (the summary line's "N new"), not earlier issues' items.
    expect(record.stats.items).toBe(Number(/(\d+) new/.exec(first.stdout)?.[1]));
    expect(await listFiles(path.join(dir, 'digests'))).toContain('seen.json');
    const home = await readFile(path.join(dir, '_site', 'index.html'), 'utf8');
    expect(home).toContain('2026-11-30-1');
    const page = await readFile(path.join(dir, '_site', 'issues', '2026-11-30-1', 'index.html'), 'utf8');
    const firstQuote = record.sections[0].quotes[0];
    expect(page).toContain(`q-${firstQuote.id}`);
    expect(page).toMatch(/#1/);
    const feed = await readFile(path.join(dir, '_site', 'feed.xml'), 'utf8');
    expect(feed).toContain('2026-11-30-1');
    expect(feed).toContain('#1');
  });

  it('shows no quote that is not the exact text of its source, in the record, the page and the email', async () => {
    const record = JSON.parse(await readFile(path.join(dir, 'digests', '2026-11-30-1.json'), 'utf8')) as Digest;
    const page = await readFile(path.join(dir, '_site', 'issues', '2026-11-30-1', 'index.html'), 'utf8');
    const eml = (await listFiles(path.join(dir, 'outbox'))).find((f) => f.endsWith('.eml')) as string;
    const mail = await simpleParser(await readFile(path.join(dir, 'outbox', eml)));
    const feedText = (await Promise.all(['gulp-atom.atom', 'heise.atom'].map((f) => readFile(path.join(FEEDS, f), 'utf8')))).map(htmlToText).join('\n');
    const sourceText = async (source: string) => (/^https?:/.test(source) ? feedText : readFile(path.join(dir, 'sources', source), 'utf8'));
    // Compare what a reader sees: the text of the page and of the email, whitespace collapsed.
    const flat = (t: string) => t.replace(/\s+/g, ' ').trim();
    const pageText = flat(htmlToText(page));
    const emailText = flat(htmlToText(String(mail.html)));
    let checked = 0;
    for (const q of record.sections.flatMap((s) => s.quotes)) {
      for (const shown of [q, ...q.counterpoints]) {
        const text = await sourceText(shown.source);
        expect(text.includes(shown.text), `${shown.source}: ${shown.text.slice(0, 60)}`).toBe(true);
        checked++;
      }
      expect(pageText.includes(flat(q.text)), `page: ${q.text.slice(0, 60)}`).toBe(true);
      expect(emailText.includes(flat(q.text)) || record.stats.trimmed > 0, `email: ${q.text.slice(0, 60)}`).toBe(true);
    }
    expect(checked).toBe(record.stats.quotes + record.stats.counterpoints);
    expect(checked).toBeGreaterThan(5);
    // The editor's pairs are shown, with their reason, in the page and the email as in the record.
    const edited = record.sections.flatMap((s) => s.quotes).flatMap((q) => q.counterpoints).filter((c) => c.reason.startsWith('Chosen by the editor'));
    expect(edited.length).toBeGreaterThanOrEqual(2);
    for (const c of edited) {
      expect(pageText.includes(flat(c.text)), `page: ${c.text.slice(0, 60)}`).toBe(true);
      expect(emailText.includes(flat(c.text)) || record.stats.trimmed > 0, `email: ${c.text.slice(0, 60)}`).toBe(true);
    }
  });

  it('writes one real MIME message per subscriber', async () => {
    const emls = (await listFiles(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(3);
    const recipients = new Set<string>();
    for (const f of emls) {
      const raw = await readFile(path.join(dir, 'outbox', f));
      expect(raw.toString('latin1')).toMatch(/^Content-Type: multipart\/alternative/im);
      const mail = await simpleParser(raw);
      expect(mail.subject).toMatch(/Debate Digest #1 \(November 30, 2026\)/);
      expect(mail.text?.trim().length).toBeGreaterThan(500);
      expect(mail.html).toBeTruthy();
      const htmlBytes = Buffer.byteLength(String(mail.html));
      expect(htmlBytes).toBeLessThan(100_000); // Gmail clips at ~102 KB, hiding the unsubscribe link
      if (f === emls[0]) console.log(`email HTML of the seed issue: ${htmlBytes} bytes; text part: ${Buffer.byteLength(mail.text ?? '')} bytes`);
      const to = Array.isArray(mail.to) ? mail.to : [mail.to];
      expect(to).toHaveLength(1);
      expect(to[0]?.value).toHaveLength(1);
      recipients.add(String(to[0]?.value[0]?.address));
      expect(raw.toString('latin1')).toMatch(/^List-Unsubscribe: <mailto:unsubscribe@example\.org/im);
      expect(mail.subject?.match(/November 30, 2026/g)).toHaveLength(1); // the date once, not twice
      expect(f).not.toMatch(/@|example/); // file names never carry the address
    }
    expect([...recipients].sort()).toEqual(['reader.one@example.com', 'reader.three@example.com', 'reader.two@example.com']);
    expect(first.stdout + first.stderr).not.toMatch(/reader\.(one|two|three)@example\.com/);
  });

  it('digest preview serves the archive under its base path and the latest email on 127.0.0.1', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(__dirname, '../../src/bin.mjs'), 'preview', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          if (out.includes('\n')) resolve(out);
        });
        child.on('exit', (code) => reject(new Error(`preview exited ${code}`)));
      });
      const base = /archive (http:\/\/127\.0\.0\.1:\d+)(\/\S*)/.exec(line);
      expect(base, line).toBeTruthy();
      const home = await fetch(`${base?.[1]}${base?.[2]}`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('2026-11-30-1');
      const email = await fetch(`${base?.[1]}/_email/`);
      expect(email.status).toBe(200);
      const html = await email.text();
      expect(html).toContain('<html');
      expect(html).toContain(`${base?.[1]}/_email/unsubscribe`);
      expect((await fetch(`${base?.[1]}/_email/text`)).headers.get('content-type')).toMatch(/text\/plain/);
      expect((await fetch(`${base?.[1]}${base?.[2]}no-such-page/`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('a second run the same week resumes instead of making or sending again', async () => {
    const again = await runCli(['run', '--now', '2026-12-02T07:00:00Z'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect((await listFiles(path.join(dir, 'digests'))).filter((f) => /^\d{4}-.*\.json$/.test(f))).toEqual(['2026-11-30-1.json']);
    expect((await listFiles(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'))).toHaveLength(3);
    expect(again.stdout).toMatch(/0 sent|0 written/);
  });

  it('a run the next week with nothing new says so and adds no record', async () => {
    const next = await runCli(['run', '--now', '2026-12-07T07:00:00Z'], { cwd: dir });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/^nothing new/m);
    // A run without an issue still counts the broken feed's failures, so a feed failing for weeks is flagged.
    const seen = JSON.parse(await readFile(path.join(dir, 'digests', 'seen.json'), 'utf8')) as { feeds: Record<string, { consecutiveFailures: number }> };
    expect(Math.max(...Object.values(seen.feeds).map((f) => f.consecutiveFailures))).toBeGreaterThanOrEqual(3);
    expect((await listFiles(path.join(dir, 'digests'))).filter((f) => /^\d{4}-.*\.json$/.test(f))).toEqual(['2026-11-30-1.json']);
  });

  it('--dry-run writes nothing', async () => {
    const before = await snapshot(dir);
    const dry = await runCli(['run', '--dry-run', '--force', '--now', '2026-12-14T07:00:00Z'], { cwd: dir });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run/);
    const after = await snapshot(dir);
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });
});

describe('every source failing', () => {
  it('exits 1 with NOTHING_USABLE and still counts the feed failures in seen.json', async () => {
    // Port 9 (discard) on 127.0.0.1: nothing listens, the fetch fails at once.
    const dir = await tempProject({ feedsYaml: 'feeds:\n  - url: http://127.0.0.1:9/feed.xml\n    title: Down\n' });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'sources', 'settings.yaml'), 'gather:\n  allowPrivateHosts: ["127.0.0.1"]\n');
    const r = await runCli(['make', '--now', '2026-11-30T07:00:00Z'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NOTHING_USABLE/);
    const seen = JSON.parse(await readFile(path.join(dir, 'digests', 'seen.json'), 'utf8')) as { feeds: Record<string, { consecutiveFailures: number }> };
    expect(Object.values(seen.feeds).map((f) => f.consecutiveFailures)).toEqual([1]);
  });
});

describe('bad configuration', () => {
  it.each([
    ['themes.yaml', 'themes:\n  - id: x\n    title: X\n    description: bad: colon\n    cues: [a]\n', /themes\.yaml:4/],
    ['speakers.yaml', null, /speakers\.yaml/],
    ['feeds.yaml', 'feeds:\n  - url: nope\n', /feeds\.yaml:2.*feeds\[0\]\.url: not a URL/],
  ])('%s broken: exit 2, names file and line, digests/ untouched', async (file, text, where) => {
    const dir = await tempProject({ dropped: { 'note.md': '“The age of scaling is over, and we are back in the age of research,” he said.\n' } });
    const ok = await runCli(['make', '--now', '2026-11-30T07:00:00Z'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const before = await snapshot(path.join(dir, 'digests'));
    const { rm, writeFile } = await import('node:fs/promises');
    if (text === null) await rm(path.join(dir, 'sources', file));
    else await writeFile(path.join(dir, 'sources', file), text);
    const bad = await runCli(['run', '--force', '--now', '2026-12-07T07:00:00Z'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(where);
    expect(bad.stderr).toMatch(/hint: /);
    expect(await snapshot(path.join(dir, 'digests'))).toEqual(before);
  });

  it.each([
    [{ SMTP_URL: 'smtp://127.0.0.1:9' }, /UNSUBSCRIBE_SECRET is not set/],
    [{ SMTP_URL: 'smtp://127.0.0.1:9', UNSUBSCRIBE_SECRET: 's' }, /no subscriber list/],
  ])('a run that could not deliver (%j) stops before writing anything', async (env, message) => {
    const dir = await tempProject({ dropped: { 'note.md': '“We are squarely an age of research company,” he said.\n' } });
    const r = await runCli(['run', '--now', '2026-11-30T07:00:00Z'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: /);
    expect(await listFiles(path.join(dir, 'digests'))).toEqual([]);
  });

  it.each([
    [['run', '--now', '2026'], /--now "2026" is not an ISO date/],
    [['run', 'extra'], /"run" takes no arguments/],
  ])('%j is a usage error', async (args, message) => {
    const dir = await tempProject();
    const r = await runCli(args, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Usage:');
  });

  it('an unknown command prints the usage and exits 2', async () => {
    const dir = await tempProject();
    const r = await runCli(['frobnicate'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage:');
    const help = await runCli(['help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });
});
