import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listDroppedFiles, parseDroppedFile, readDroppedFiles } from '../../src/gather/files.js';

describe('parseDroppedFile', () => {
  it('reads front matter and keeps the body character for character', () => {
    const body = 'Dwarkesh: So what comes next?\n\nIlya: “It’s back to the age of research again.”\n';
    const src = `---\ntitle: The interview\nurl: https://www.dwarkesh.com/p/ilya?utm_source=x#top\nauthor: Dwarkesh Patel\nspeakers: [ilya-sutskever, dwarkesh-patel]\ndate: 2025-11-25\nstance: research\nprimary: true\n---\n${body}`;
    const { item, problems } = parseDroppedFile(src, 'transcripts/ilya.md');
    expect(problems).toEqual([]);
    expect(item).toMatchObject({
      kind: 'file', sourceId: 'transcripts/ilya.md', origin: 'transcripts/ilya.md', title: 'The interview',
      url: 'https://www.dwarkesh.com/p/ilya', author: 'Dwarkesh Patel', speakers: ['ilya-sutskever', 'dwarkesh-patel'],
      date: '2025-11-25T00:00:00.000Z', dateProblem: null, stance: 'research', primary: true, html: null,
    });
    expect(item!.text).toBe(body);
    expect(item!.text.indexOf('It’s back')).toBe(body.indexOf('It’s back'));
  });

  it('says where the text starts in the file: after the front matter (and a byte-order mark), at 0 without', () => {
    const body = 'Ilya: “It’s back to the age of research again.”\n';
    const withFm = `---\ntitle: The interview\nspeakers: [ilya-sutskever]\n---\n${body}`;
    const a = parseDroppedFile(withFm, 'a.md');
    expect(a.textOffset).toBe(56);
    expect(withFm.slice(a.textOffset!)).toBe(a.item!.text);
    // An offset into the text plus textOffset is the same words in the file on disk.
    const at = a.item!.text.indexOf('It’s back');
    expect(withFm.slice(a.textOffset! + at, a.textOffset! + at + 9)).toBe('It’s back');
    const b = parseDroppedFile(body, 'b.txt');
    expect(b.textOffset).toBe(0);
    expect(b.item!.text).toBe(body);
    // A byte-order mark is not in the text but is in the file (readFile keeps it).
    const c = parseDroppedFile('\uFEFF---\ntitle: x\n---\nbody\n', 'c.md');
    expect(c.textOffset).toBe(18);
    expect(c.item!.text).toBe('body\n');
    expect(parseDroppedFile('<p>Hi</p>', 'd.html').textOffset).toBeNull();
    expect(parseDroppedFile('---\ntitle: x\nno end\n', 'e.md').textOffset).toBeNull();
  });

  it('without front matter, the whole file is the text and the first line the title', () => {
    const src = '\n\n  TMT Breakout  \nsecond line\n';
    const { item, problems } = parseDroppedFile(src, 'a.txt');
    expect(problems).toEqual([]);
    expect(item!.text).toBe(src);
    expect(item!.title).toBe('TMT Breakout');
    expect(item!.dateProblem).toBe('missing');
  });

  it('falls back to the file name for an empty file', () => {
    expect(parseDroppedFile('', 'dir/empty.md').item!.title).toBe('empty.md');
  });

  it('strips a markdown heading marker from the fallback title', () => {
    expect(parseDroppedFile('# Age of research\n\ntext', 'x.md').item!.title).toBe('Age of research');
  });

  it('handles CRLF front matter', () => {
    const { item, problems } = parseDroppedFile('---\r\ntitle: T\r\n---\r\nbody\r\n', 'w.md');
    expect(problems).toEqual([]);
    expect(item!.title).toBe('T');
    expect(item!.text).toBe('body\r\n');
  });

  it('a YAML syntax error is a problem naming file:line and the fix; the file is not used', () => {
    const src = '---\ntitle: Fine\nurl: https://example.org/x\ntitle: "unclosed\n---\nbody\n';
    const { item, problems } = parseDroppedFile(src, 'broken.md');
    expect(item).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.code).toBe('FRONT_MATTER_INVALID');
    expect(problems[0]!.origin).toMatch(/^broken\.md:[2-5]$/);
    expect(problems[0]!.hint).toMatch(/key: value/);
  });

  it('an unclosed front matter block is a problem at line 1', () => {
    const { item, problems } = parseDroppedFile('---\ntitle: x\nno end\n', 'open.md');
    expect(item).toBeNull();
    expect(problems[0]).toMatchObject({ code: 'FRONT_MATTER_INVALID', origin: 'open.md:1' });
    expect(problems[0]!.hint).toMatch(/---/);
  });

  it('a bad field is a problem at its own line; the item is still gathered without it', () => {
    const src = '---\ntitle: T\nstance: sideways\ndate: not a date\nurl: ftp://x\n---\nbody';
    const { item, problems } = parseDroppedFile(src, 'f.md');
    expect(item).not.toBeNull();
    expect(item!.stance).toBeNull();
    expect(item!.dateProblem).toBe('invalid');
    expect(item!.url).toBeNull();
    expect(problems.map((p) => p.origin)).toEqual(['f.md:3', 'f.md:4', 'f.md:5']);
    expect(problems.every((p) => p.code === 'FRONT_MATTER_INVALID')).toBe(true);
  });

  it('duplicate keys are reported', () => {
    const { problems } = parseDroppedFile('---\ntitle: a\ntitle: b\n---\nx', 'd.md');
    expect(problems[0]?.code).toBe('FRONT_MATTER_INVALID');
  });

  it('HTML files are sanitized and their text is the text of the sanitized HTML', () => {
    const src = '---\nurl: https://example.org/post/\n---\n<h1>Scaling</h1><p>“We are back in the age of research.”<script>alert(1)</script></p><a href="/x" onclick="evil()">more</a>';
    const { item } = parseDroppedFile(src, 'p.html');
    expect(item!.html).not.toMatch(/script|onclick/);
    expect(item!.html).toContain('href="https://example.org/x"');
    expect(item!.text).toBe('Scaling\n\n“We are back in the age of research.”\n\nmore');
    expect(item!.title).toBe('Scaling');
  });

  it('the same file gives the same id; a different path a different id', () => {
    const a = parseDroppedFile('text', 'a.md').item!;
    expect(parseDroppedFile('text edited', 'a.md').item!.id).toBe(a.id);
    expect(parseDroppedFile('text', 'b.md').item!.id).not.toBe(a.id);
  });
});

describe('readDroppedFiles', () => {
  it('walks sources/, skips config files and README.md, and one broken file does not stop the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dd-files-'));
    for (const f of ['feeds.yaml', 'themes.yaml', 'speakers.yaml', 'settings.yaml']) writeFileSync(path.join(dir, f), 'x: 1\n');
    writeFileSync(path.join(dir, 'README.md'), '# how to drop files\n');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'good.md'), '---\ntitle: Good\n---\nhello');
    writeFileSync(path.join(dir, 'bad.md'), '---\ntitle: [unclosed\n---\nbody');
    writeFileSync(path.join(dir, 'page.html'), '<p>html</p>');
    writeFileSync(path.join(dir, 'latin.txt'), Buffer.from([0x93, 0x48, 0x69, 0x94, 0x0a])); // “Hi” in windows-1252
    writeFileSync(path.join(dir, 'image.png'), 'not a source');
    expect(await listDroppedFiles(dir)).toEqual(['bad.md', 'latin.txt', 'page.html', 'sub/good.md']);
    const { items, problems } = await readDroppedFiles(dir);
    expect(items.map((i) => i.sourceId)).toEqual(['latin.txt', 'page.html', 'sub/good.md']);
    expect(items[0]!.text).toBe('“Hi”\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.origin).toMatch(/^bad\.md:\d+$/);
  });

  it('refuses a file over the size limit with a problem, and reads the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dd-files-'));
    writeFileSync(path.join(dir, 'huge.txt'), 'x'.repeat(2000));
    writeFileSync(path.join(dir, 'small.txt'), 'fine');
    const { items, problems } = await readDroppedFiles(dir, { maxBytes: 1000 });
    expect(items.map((i) => i.sourceId)).toEqual(['small.txt']);
    expect(problems).toMatchObject([{ code: 'FILE_UNREADABLE', origin: 'huge.txt' }]);
  });

  it('reads the real seed documents unchanged', async () => {
    const seeds = path.resolve(import.meta.dirname, '../../../shared/seeds');
    const { items, problems } = await readDroppedFiles(seeds);
    expect(problems).toEqual([]);
    expect(items.length).toBe(5);
    for (const item of items) {
      const raw = readFileSync(path.join(seeds, item.sourceId), 'utf8');
      // The text is the file after its front matter block, exactly.
      const body = raw.startsWith('---\n') ? raw.slice(raw.indexOf('\n---\n', 3) + 5) : raw;
      expect(item.text).toBe(body);
    }
    const notes = items.find((i) => i.sourceId.startsWith('001_'))!;
    expect(notes.title).toBe('Notes - Dwarkesh Patel - Ilya Sutskever');
    expect(notes.date).toBe('2025-11-24T00:00:00.000Z');
  });
});

describe('regression: two dropped notes citing the same URL', () => {
  it('are two items with their own ids, both gathered', async () => {
    const { mkdtemp, mkdir, writeFile, cp } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { gather, emptyLedger } = await import('../../src/gather/index.js');
    const { readConfig } = await import('../../src/config.js');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dd-two-notes-'));
    for (const f of ['themes.yaml', 'speakers.yaml']) await cp(path.resolve(__dirname, '../../sources', f), path.join(dir, f));
    await writeFile(path.join(dir, 'feeds.yaml'), 'feeds: []\n');
    await mkdir(path.join(dir, 'notes'));
    const note = (body: string) => `---\ntitle: A note\nurl: https://www.dwarkesh.com/p/ilya-sutskever-2?utm_source=x\n---\n${body}\n`;
    await writeFile(path.join(dir, 'notes', 'a.md'), note('“We are squarely an age of research company,” he said.'));
    await writeFile(path.join(dir, 'notes', 'b.md'), note('Another note on the same interview, about something else entirely.'));
    const config = await readConfig(dir);
    const { gathered } = await gather({ config, sourcesDir: dir, ledger: emptyLedger(), now: new Date('2026-11-30T00:00:00Z') });
    expect(gathered.items.map((i) => i.sourceId).sort()).toEqual(['notes/a.md', 'notes/b.md']);
    expect(new Set(gathered.items.map((i) => i.id)).size).toBe(2);
  });
});
