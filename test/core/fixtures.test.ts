/**
 * The test fixtures must not put invented words in real people's mouths: they end up in committed snapshots and
 * screenshots. Every quote or counterpoint credited to a real person (an id, name or alias in sources/speakers.yaml)
 * must be copied verbatim from a real document in /work/shared/seeds; lines written for the tests are said by
 * fictional people or by no one (see test/fixtures/digests/make-fixtures.mjs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SEEDS = path.resolve(import.meta.dirname, '../../../shared/seeds');

interface Person { id: string; name: string; aliases?: string[] }
const people = (parse(readFileSync(path.join(ROOT, 'sources/speakers.yaml'), 'utf8')) as { speakers: Person[] }).speakers;
const realIds = new Set(people.map((p) => p.id));
// Names and aliases, compared case-insensitively: a fixture that calls someone "Gary Marcus" under a made-up id
// ("gary") still credits a real person.
const realNames = new Set(people.flatMap((p) => [p.name, ...(p.aliases ?? [])]).map((n) => n.trim().toLowerCase()));

const seeds = readdirSync(SEEDS).filter((n) => n.endsWith('.txt')).map((n) => readFileSync(path.join(SEEDS, n), 'utf8'));

/** Every fixture that is a digest: the render/deliver digests and the archive's issue records. */
function readFixtures(): { file: string; data: unknown }[] {
  const dirs: [string, RegExp][] = [
    ['test/fixtures/digests', /\.json$/],
    ['test/fixtures/records', /^\d{4}-\d{2}-\d{2}-\d+\.json$/],
  ];
  return dirs.flatMap(([dir, re]) => readdirSync(path.join(ROOT, dir)).filter((n) => re.test(n)).sort()
    .map((n) => ({ file: `${dir}/${n}`, data: JSON.parse(readFileSync(path.join(ROOT, dir, n), 'utf8')) as unknown })));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Lines credited to a real person whose text is not an exact substring of any seed, as "where: text". Walks the
 * whole record, so quotes, counterpoints and anything else with a text and a speaker are all covered.
 */
function findInventedQuotes(data: unknown, seedTexts: string[], where = ''): string[] {
  // The digest's own speaker list can name a real person under an id that is not in speakers.yaml.
  const named = new Map<string, string>();
  if (isObj(data) && Array.isArray(data.speakers)) {
    for (const s of data.speakers) if (isObj(s) && str(s.id) && str(s.name)) named.set(s.id as string, s.name as string);
  }
  const isReal = (id: string | null, name: string | null): boolean =>
    (id !== null && (realIds.has(id) || realNames.has((named.get(id) ?? '').trim().toLowerCase())))
    || (name !== null && realNames.has(name.trim().toLowerCase()));
  const bad: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
    if (!isObj(v)) return;
    const text = str(v.text);
    if (text !== null && ('speaker' in v || 'speakerName' in v) && isReal(str(v.speaker), str(v.speakerName))) {
      if (!seedTexts.some((s) => s.includes(text))) bad.push(`${at} (${str(v.speakerName) ?? str(v.speaker)}): ${text}`);
    }
    for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
  };
  walk(data, where);
  return bad;
}

describe('fixture digests and records', () => {
  const fixtures = readFixtures();

  it('are all found, and the seed documents are there to check against', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(5);
    expect(fixtures.map((f) => f.file)).toEqual(expect.arrayContaining([
      'test/fixtures/digests/realistic.json', 'test/fixtures/digests/huge.json', 'test/fixtures/digests/hostile.json',
      'test/fixtures/records/2026-11-19-1.json', 'test/fixtures/records/2026-11-24-2.json', 'test/fixtures/records/2026-11-30-3.json',
    ]));
  });

  it.each(readFixtures().map((f) => [f.file, f.data] as const))('%s credits a real person only with words from the seeds', (file, data) => {
    expect(findInventedQuotes(data, seeds, file)).toEqual([]);
  });

  it('still quote real people somewhere (the check is not vacuous)', () => {
    const credited = (data: unknown): number => {
      let n = 0;
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) return v.forEach(walk);
        if (!isObj(v)) return;
        if (str(v.text) !== null && realIds.has(str(v.speaker) ?? '')) n++;
        Object.values(v).forEach(walk);
      };
      walk(data);
      return n;
    };
    expect(credited(fixtures.find((f) => f.file.endsWith('realistic.json'))?.data)).toBeGreaterThan(5);
    expect(fixtures.filter((f) => f.file.includes('/records/')).every((f) => credited(f.data) > 0)).toBe(true);
  });
});

describe('findInventedQuotes', () => {
  const seed = 'He said: “So it’s back to the age of research again, just with big computers.”';
  const quote = (text: string, speaker: string | null, speakerName: string | null, counterpoints: unknown[] = []): Obj =>
    ({ text, speaker, speakerName, counterpoints });

  it.each([
    ['invented words under a speakers.yaml id', quote('Scaling was never enough.', 'gary-marcus', 'Gary Marcus'), 1],
    ['a real name under a made-up id', quote('Scaling was never enough.', 'gary', 'Gary Marcus'), 1],
    ['an alias as the name', quote('Scaling was never enough.', 'x', 'Marcus'), 1],
    ['a counterpoint credited to a real person', quote('So it’s back', 'ilya-sutskever', 'Ilya Sutskever', [{ text: 'The curves have not bent.', speaker: 'dario-amodei', speakerName: 'Dario Amodei' }]), 1],
    ['straight quotes where the seed has curly ones', quote("So it's back to the age of research again", 'ilya-sutskever', 'Ilya Sutskever'), 1],
    ['a verbatim line', quote('So it’s back to the age of research again, just with big computers.', 'ilya-sutskever', 'Ilya Sutskever'), 0],
    ['invented words by a fictional person', quote('Scaling was never enough.', 'renata-sollberger', 'Renata Sollberger'), 0],
    ['invented words by no one', quote('Scaling was never enough.', null, null), 0],
  ])('%s', (_name, q, count) => {
    expect(findInventedQuotes({ sections: [{ quotes: [q] }] }, [seed])).toHaveLength(count);
  });

  it('resolves a made-up id through the digest\'s own speaker list', () => {
    const digest = { speakers: [{ id: 'dario', name: 'Dario Amodei', role: 'x' }], sections: [{ quotes: [quote('Invented.', 'dario', null)] }] };
    expect(findInventedQuotes(digest, [seed])).toHaveLength(1);
  });
});
