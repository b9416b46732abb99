import { mkdtemp, readFile, writeFile, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, readConfig } from '../../src/config.js';
import { DigestError } from '../../src/errors.js';

const shipped = path.resolve(__dirname, '../../sources');
const read = (n: string) => readFile(path.join(shipped, n), 'utf8');

async function texts() {
  return {
    'feeds.yaml': await read('feeds.yaml'),
    'themes.yaml': await read('themes.yaml'),
    'speakers.yaml': await read('speakers.yaml'),
    'settings.yaml': await read('settings.yaml'),
  };
}

function errorOf(fn: () => unknown): DigestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DigestError) return err;
    throw err;
  }
  throw new Error('expected a DigestError');
}

describe('config', () => {
  it('parses the shipped sources/ into a normalized config', async () => {
    const config = await readConfig(shipped);
    expect(config.themes.length).toBeGreaterThanOrEqual(8);
    expect(config.speakers.find((s) => s.id === 'ilya-sutskever')?.aliases).toContain('Sutsekver');
    expect(config.feeds.length).toBeGreaterThan(0);
    expect(config.site.basePath).toMatch(/^\/.*\/$/);
    expect(config.email.maxHtmlBytes).toBeGreaterThan(0);
    // The editor's pairs, each with the line it was written on.
    const settings = await read('settings.yaml');
    expect(config.analyze.pairs!.length).toBeGreaterThan(0);
    for (const p of config.analyze.pairs!) {
      const line = Number(p.origin.split(':').at(-1));
      expect(settings.split('\n')[line - 1]).toContain(p.quote);
    }
  });

  it.each([
    ['feeds.yaml', 'feeds:\n  - url: not a url\n    title: X\n', 'feeds[0].url: not a URL', 2],
    ['feeds.yaml', 'feeds:\n  - title: X\n', 'feeds[0].url: is required', 2],
    ['feeds.yaml', 'feeds:\n  - url: https://a.example/feed\n    stance: maybe\n', 'feeds[0].stance: must be one of', 3],
    ['feeds.yaml', 'feeds:\n  - url: https://a.example/feed\n    speakers: [nobody]\n', 'unknown speaker "nobody"', 3],
    ['feeds.yaml', 'feeds:\n  - url: https://a.example/feed\n   title: bad indent\n', 'not valid YAML', 3],
    ['themes.yaml', 'themes:\n  - id: a\n    title: A\n', 'themes[0].cues: needs at least one cue', 2],
    ['themes.yaml', 'themes:\n  - id: a\n    title: A\n    cues: [x]\n  - id: a\n    title: B\n    cues: [y]\n', 'duplicate id "a"', 5],
    ['themes.yaml', 'nothemes: 1\n', 'top-level `themes:` list is missing', 1],
    ['speakers.yaml', 'speakers:\n  - aliases: [x]\n', 'speakers[0].name: is required', 2],
    ['settings.yaml', 'site:\n  timeZone: Mars/Olympus\n', 'unknown time zone', 2],
    ['settings.yaml', 'email:\n  maxHtmlBytes: -4\n', 'email.maxHtmlBytes: must be a number', 2],
    ['settings.yaml', 'analyze:\n  pairs: one\n', 'analyze.pairs: must be a list', 2],
    ['settings.yaml', 'analyze:\n  pairs:\n    - quote: The idea of the artificial neuron\n', 'analyze.pairs[0].counter: is required', 3],
    ['settings.yaml', 'analyze:\n  pairs:\n    - quote: The idea of the artificial neuron\n      counter: Not so.\n', 'analyze.pairs[0].counter: needs at least four words', 4],
    ['settings.yaml', 'analyze:\n  pairs:\n    - quote: The idea of the artificial neuron\n      counter: That is not a method.\n    - quote: The idea of the artificial neuron\n      counter: It is a theology, not a method.\n', 'analyze.pairs[1].quote: the same quote as pair 1', 5],
    ['settings.yaml', "analyze:\n  pairs:\n    - quote: It's back to the age of research\n      counter: That is not a method.\n    - quote: It’s back to the age of research again\n      counter: It is a theology, not a method.\n", 'analyze.pairs[1].quote: the same quote as pair 1', 5],
  ])('%s with %j fails naming the field and line', async (file, text, message, line) => {
    const t = { ...(await texts()), [file]: text };
    const err = errorOf(() => parseConfig(t, 'sources'));
    expect(err.code).toMatch(/^CONFIG_INVALID$/);
    expect(err.message).toContain(message);
    expect(err.origin).toBe(`${path.join('sources', file)}:${line}`);
    expect(err.hint.length).toBeGreaterThan(10);
    expect(err.exitCode).toBe(2);
  });

  it('a missing required file is CONFIG_MISSING naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dd-config-'));
    await cp(shipped, dir, { recursive: true });
    await writeFile(path.join(dir, 'themes.yaml'), 'themes:\n  - id: a\n    title: A\n    cues: [scale]\n');
    await expect(readConfig(dir)).resolves.toBeTruthy();
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, 'speakers.yaml'));
    const err = await readConfig(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('CONFIG_MISSING');
    expect((err as DigestError).origin).toBe(path.join(dir, 'speakers.yaml'));
  });

  it('fills defaults for an empty settings.yaml', async () => {
    const c = parseConfig({ ...(await texts()), 'settings.yaml': '' });
    expect(c.site.timeZone).toBe('UTC');
    expect(c.gather.backfillDays).toBe(30);
    expect(c.gather.maxBytes).toBe(5 * 1024 * 1024);
    expect(c.analyze.attributionThreshold).toBe(0.6);
  });
});

describe('environment overrides', () => {
  it.each([
    [{ SITE_URL: 'https://someone.github.io/debate-digest' }, 'https://someone.github.io', '/debate-digest/'],
    [{ SITE_URL: 'https://digest.example.org', SITE_PATH_PREFIX: '/' }, 'https://digest.example.org', '/'],
    [{ SITE_PATH_PREFIX: 'archive' }, 'https://example.github.io', '/archive/'],
  ])('%j sets the site URL and base path', async (env, url, basePath) => {
    const config = await readConfig(shipped, env);
    expect(config.site.url).toBe(url);
    expect(config.site.basePath).toBe(basePath);
  });

  it('rejects a SITE_URL that is not a URL, naming the variable', async () => {
    await expect(readConfig(shipped, { SITE_URL: 'nope' })).rejects.toThrow(/SITE_URL "nope" is not a URL/);
  });
});
