/** The pure half of the archive: record checks, URLs and ids, the view model, feed trimming, incremental plans. */
import { describe, expect, it } from 'vitest';
import {
  entryId, FEED_ISSUES, FEED_MAX_BYTES, issueTitle, issueUrl, pageNumbers, paginateSpeaker, paginateTheme, parseDigestRecord, planIncremental,
  planPasses, quoteAnchor, safeHref, siteRoot, PAGE_ISSUES, pageFingerprints, toArchiveModel, type ViewCounter, type ViewGroup,
} from '../../src/render/archive.js';
import { escapeHtml } from '../../src/render/helpers.js';
import { DigestError } from '../../src/errors.js';
import type { Config, Digest } from '../../src/model.js';
import { fixtureDigests, syntheticDigest, testConfig } from './support.js';

const config: Config = await testConfig({ basePath: '/' });
const sub: Config = { ...config, site: { ...config.site, basePath: 'debate-digest' } };
const digests: Digest[] = await fixtureDigests();

describe('URLs and ids', () => {
  it.each([
    [config, '2026-11-30-3', 'https://example.github.io/issues/2026-11-30-3/'],
    [sub, '2026-11-30-3', 'https://example.github.io/debate-digest/issues/2026-11-30-3/'],
    [sub, '', 'https://example.github.io/debate-digest/'],
  ])('issueUrl %#', (cfg, id, url) => {
    expect(issueUrl(cfg, id)).toBe(url);
  });

  it('anchors and entry ids depend only on the record (and the site address)', () => {
    expect(quoteAnchor('a1b2c3d4e5f6')).toBe('q-a1b2c3d4e5f6');
    expect(quoteAnchor('a b"<')).toBe('q-a-b--');
    expect(entryId(config, { date: '2026-11-30', number: 3 })).toBe('tag:example.github.io,2026-11-30:issue-3');
    expect(entryId(sub, { date: '2026-11-30', number: 3 })).toBe('tag:example.github.io,2026-11-30:debate-digest/issue-3');
    const port = { ...config, site: { ...config.site, url: 'http://127.0.0.1:8080' } };
    expect(entryId(port, { date: '2026-11-30', number: 3 })).toBe('tag:127.0.0.1,2026-11-30:issue-3');
    expect(siteRoot({ ...config, site: { ...config.site, url: 'https://x.org/', basePath: '/a/b/' } })).toBe('https://x.org/a/b/');
  });

  it.each([
    ['https://example.org/a?b=1', 'https://example.org/a?b=1'],
    ['  http://example.org/', 'http://example.org/'],
    ['javascript:alert(1)', null],
    [' JaVaScRiPt:alert(2)', null],
    ['data:text/html,<script>', null],
    ['//evil.example/x', null],
    ['/relative', null],
    [null, null],
  ])('safeHref(%j)', (raw, expected) => {
    expect(safeHref(raw)).toBe(expected);
  });

  it('titles carry the issue number and date', () => {
    expect(issueTitle({ number: 2, date: '2026-11-24', title: 'Evals' })).toBe('Issue 2 · November 24, 2026: Evals');
    expect(issueTitle({ number: 2, date: '2026-11-24', title: ' ' })).toBe('Issue 2 · November 24, 2026');
  });
});

describe('parseDigestRecord', () => {
  const good = JSON.stringify(digests[0]);
  const origin = 'digests/2026-11-30-3.json';
  const problems: [string, string, string][] = [
    ['not JSON', '{"schema":', 'not valid JSON'],
    ['an array', '[]', 'expected a JSON object'],
    ['another schema', good.replace('"schema":1', '"schema":2'), 'schema'],
    ['an id not matching its file', good.replace('"id":"2026-11-30-3"', '"id":"2026-11-30-9"'), 'does not match the file name'],
    ['a bad date', good.replace('"date":"2026-11-30"', '"date":"30/11/2026"'), 'date'],
    ['a bad publishedAt', good.replace('"publishedAt":"2026-11-30T07:00:00.000Z"', '"publishedAt":"yesterday"'), 'publishedAt'],
    ['a quote without text', JSON.stringify({ ...digests[0], sections: [{ ...digests[0]!.sections[0], quotes: [{ ...digests[0]!.sections[0]!.quotes[0], text: null }] }] }), 'sections[0].quotes[0].text'],
    ['a counterpoint without reason', JSON.stringify({ ...digests[0], sections: [{ ...digests[0]!.sections[0], quotes: [{ ...digests[0]!.sections[0]!.quotes[0], counterpoints: [{ text: 'x', sourceTitle: 't', stance: 'neutral' }] }] }] }), 'sections[0].quotes[0].counterpoints[0].reason'],
  ];
  it.each(problems)('rejects %s with RECORD_INVALID naming the file', (_, text, message) => {
    let err: unknown;
    try {
      parseDigestRecord(text, origin);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DigestError);
    expect((err as DigestError).code).toBe('RECORD_INVALID');
    expect((err as DigestError).origin).toBe(origin);
    expect((err as DigestError).message).toContain(message);
  });

  it('accepts the fixture records unchanged', () => {
    expect(parseDigestRecord(good, origin)).toEqual(digests[0]);
  });
});

describe('toArchiveModel', () => {
  const model = toArchiveModel(digests, sub);

  it('orders issues newest first and links each to its neighbours, under the base path', () => {
    expect(model.issues.map((i) => i.id)).toEqual(['2026-11-30-3', '2026-11-24-2', '2026-11-19-1']);
    expect(model.latest?.id).toBe('2026-11-30-3');
    expect(model.issues[1]?.prev?.href).toBe('/debate-digest/issues/2026-11-19-1/');
    expect(model.issues[1]?.next?.href).toBe('/debate-digest/issues/2026-11-30-3/');
    expect(model.issues[0]?.sections[0]?.quotes[0]?.href).toBe('/debate-digest/issues/2026-11-30-3/#q-0badc0ffee01');
  });

  it('keeps quote text verbatim and drops unsafe source links', () => {
    const hostile = model.issues[0]?.sections[0]?.quotes[0];
    expect(hostile?.text).toBe(digests[0]?.sections[0]?.quotes[0]?.text);
    expect(hostile?.sourceHref).toBeNull();
    expect(hostile?.counterpoints[0]?.sourceHref).toBeNull();
  });

  it('shows an unattributed quote without a speaker link, and gives it no speaker page', () => {
    const q = model.issues[1]?.sections[0]?.quotes[1];
    expect(q?.heading).toBe('Unattributed');
    expect(q?.speakerHref).toBeNull();
    expect(model.speakers.map((s) => s.id).sort()).toEqual(['dwarkesh-patel', 'ilya-sutskever', 'kofi-brandt', 'renata-sollberger']);
  });

  it('collects every quote of a theme across issues, newest first, each quote once per issue', () => {
    const theme = model.themes.find((t) => t.id === 'generalization');
    expect(theme?.groups.map((g) => [g.issue.id, g.quotes.map((q) => q.id)])).toEqual([
      ['2026-11-30-3', ['2d3e4f5a6b7c']],
      ['2026-11-24-2', ['e5f6a1b2c3d4', 'a7b8c9d0e1f2']],
      ['2026-11-19-1', ['c3d4e5f6a1b2']],
    ]);
    expect(theme?.lastmod).toBe('2026-11-30T07:00:00.000Z');
    // A counterpoint that is itself a quote links to it.
    const cp = model.issues[0]?.sections[1]?.quotes[0]?.counterpoints[0];
    expect(cp?.counterQuoteHref).toBe('/debate-digest/issues/2026-11-19-1/#q-c3d4e5f6a1b2');
    // Kofi Brandt (a fictional lab CEO) only answered: his page lists the counterpoint.
    expect(model.speakers.find((s) => s.id === 'kofi-brandt')?.counters).toHaveLength(1);
  });
});

describe('feeds', () => {
  it('stays under 500 KB with 30 very long issues, keeping 20 entries that each link to the web version', () => {
    const long = 'A very long verbatim passage about scaling and research. '.repeat(40);
    const many = Array.from({ length: 30 }, (_, i) => {
      const d = syntheticDigest(digests[i % 3]!, i + 1);
      return { ...d, sections: d.sections.map((s) => ({ ...s, quotes: Array.from({ length: 8 }, (_, k) => ({ ...s.quotes[0]!, id: `${s.quotes[0]!.id}-${k}`, text: long })) })) };
    });
    const model = toArchiveModel(many, config);
    expect(Buffer.byteLength(model.atom)).toBeLessThan(FEED_MAX_BYTES);
    expect(Buffer.byteLength(model.jsonFeed)).toBeLessThan(FEED_MAX_BYTES);
    const json = JSON.parse(model.jsonFeed) as { items: { id: string; content_html: string; url: string }[] };
    expect(json.items).toHaveLength(FEED_ISSUES);
    for (const item of json.items) expect(item.content_html).toContain(`href="${item.url}"`);
    expect(json.items[0]?.content_html).toMatch(/\d+ more quotes in <a href/);
    // The untrimmed content would not have fit.
    expect(30 * 8 * 3 * long.length).toBeGreaterThan(FEED_MAX_BYTES);
  });

  it('dates the feed by its newest issue, never the build time, and strips characters XML forbids', () => {
    const model = toArchiveModel(digests, config);
    expect(model.atom).toContain('<updated>2026-11-30T07:00:00Z</updated>');
    const withControl = { ...digests[1]!, intro: 'bell\u0007 and \uFFFE here' };
    const atom = toArchiveModel([withControl], config).atom;
    expect(atom).toContain(escapeHtml('<p>bell and  here</p>'));
    expect(atom).not.toMatch(/[\u0000-\u0008\uFFFE]/);
    const empty = toArchiveModel([], config);
    expect(empty.atom).toContain('<updated>1970-01-01T00:00:00Z</updated>');
    expect(JSON.parse(empty.jsonFeed)).toMatchObject({ items: [] });
  });
});

describe('theme pages', () => {
  // Groups stand for issues newest first: issue n is "i<n>", so a theme of n issues is i<n> … i1.
  const theme = (n: number) => {
    const groups = Array.from({ length: n }, (_, k) => ({ issue: { id: `i${n - k}`, dateLabel: `day ${n - k}` }, quotes: [{ id: `q${n - k}` }] }) as unknown as ViewGroup);
    return { id: 'scaling-era', slug: 'scaling-era', title: 'Scaling', description: '', href: '/base/themes/scaling-era/', count: n, groups };
  };
  const ids = (pages: ReturnType<typeof paginateTheme>) => pages.map((p) => p.groups.map((g) => g.issue.id));
  const times = new Map<string, string>();

  const base = '/base/themes/scaling-era/';
  const at = (n: number | null) => (n === null ? base : `${base}page/${n}/`);

  it('puts the newest issues on the entry page and full pages numbered from the oldest after it, each issue once', () => {
    const pages = paginateTheme(theme(45), 20, times);
    // Entry page (issues 41–45), page 2 (21–40), page 1 (1–20), then the redirect at page 3.
    expect(pages.map((p) => [p.kind, p.number, p.href, p.permalink, p.first, p.last, p.groups.length])).toEqual([
      ['entry', null, base, '/themes/scaling-era/', 41, 45, 5],
      ['full', 2, at(2), '/themes/scaling-era/page/2/', 21, 40, 20],
      ['full', 1, at(1), '/themes/scaling-era/page/1/', 1, 20, 20],
      ['next', 3, at(3), '/themes/scaling-era/page/3/', 0, 0, 0],
    ]);
    expect(ids(pages).flat()).toEqual(theme(45).groups.map((g) => g.issue.id));
    expect(ids(pages)[1]).toEqual(Array.from({ length: 20 }, (_, k) => `i${40 - k}`));
    expect(pages.map((p) => [p.newer?.href ?? null, p.older?.href ?? null, p.redirect])).toEqual([
      [null, at(2), null],
      [at(3), at(1), null],
      [at(2), null, null],
      [null, null, base],
    ]);
    // The pager, newest first: "Newest" (the entry page), then numbers; a full page's highest is the next one.
    expect(pages.map((p) => p.numbers.map((n) => n && [n.label, n.href]))).toEqual([
      [['Newest', base], ['2', at(2)], ['1', at(1)]],
      [['Newest', base], ['3', at(3)], ['2', at(2)], ['1', at(1)]],
      [['Newest', base], ['2', at(2)], ['1', at(1)]],
      [],
    ]);
    expect(pages.map((p) => p.totals)).toEqual([{ quotes: 45, issues: 45 }, null, null, null]);
    expect([pages[1]?.to, pages[1]?.from]).toEqual(['day 40', 'day 21']);
  });

  it('never changes a full page when issues are added, including the one that overflows the entry page', () => {
    for (let n = 1; n < 130; n++) {
      const before = paginateTheme(theme(n), 20, times).filter((p) => p.kind === 'full');
      const after = paginateTheme(theme(n + 1), 20, times);
      for (const page of before) expect(after.find((p) => p.permalink === page.permalink), `${page.permalink}: ${n} → ${n + 1}`).toEqual(page);
      expect(ids(after)[0]?.[0]).toBe(`i${n + 1}`);
    }
    // The 61st issue makes issues 41–60 a new full page 3, and the entry page holds issue 61 alone.
    const full = paginateTheme(theme(60), 20, times);
    const opened = paginateTheme(theme(61), 20, times);
    expect(full.map((p) => [p.kind, p.number, p.groups.length])).toEqual([['entry', null, 20], ['full', 2, 20], ['full', 1, 20], ['next', 3, 0]]);
    expect(opened.map((p) => [p.kind, p.number, p.groups.length])).toEqual([['entry', null, 1], ['full', 3, 20], ['full', 2, 20], ['full', 1, 20], ['next', 4, 0]]);
    expect(ids(opened)[1]).toEqual(ids(full)[0]);
  });

  it('gives a short theme one page with no pager and no redirect, and an empty one a single empty page', () => {
    expect(paginateTheme(theme(PAGE_ISSUES), PAGE_ISSUES, times).map((p) => [p.kind, p.numbers, p.newer, p.older, p.first, p.last])).toEqual([['entry', [], null, null, 1, 20]]);
    expect(paginateTheme(theme(0), 20, times).map((p) => [p.kind, p.groups])).toEqual([['entry', []]]);
  });

  it.each([
    [1, 1, [1]],
    [1, 3, [1, 2, 3]],
    [1, 25, [1, 2, 3, null, 25]],
    [4, 25, [1, 2, 3, 4, 5, 6, null, 25]],
    [5, 25, [1, 2, 3, 4, 5, 6, 7, null, 25]],
    [6, 25, [1, null, 4, 5, 6, 7, 8, null, 25]],
    [25, 25, [1, null, 23, 24, 25]],
    [22, 25, [1, null, 20, 21, 22, 23, 24, 25]],
  ])('pageNumbers(%i, %i)', (current, count, expected) => {
    expect(pageNumbers(current, count)).toEqual(expected);
  });

  it('pages every theme of the model and renders each page once', () => {
    const many = toArchiveModel(Array.from({ length: 7 }, (_, i) => syntheticDigest(digests[(i + 1) % 3]!, i + 1)), config, { pageIssues: 3 });
    const generalization = many.themes.find((t) => t.id === 'generalization');
    expect(generalization?.pages.map((p) => [p.number, p.groups.length])).toEqual([[null, 1], [2, 3], [1, 3], [3, 0]]);
    expect(many.render.themes).toEqual(many.themes.flatMap((t) => t.pages));
    expect(many.sitemap).toContain('<loc>https://example.github.io/themes/generalization/page/1/</loc>');
    expect(many.sitemap).toContain('<loc>https://example.github.io/themes/generalization/page/2/</loc>');
    // The redirect at the next number is no page of its own.
    expect(many.sitemap).not.toContain('/themes/generalization/page/3/');
  });
});

describe('speaker pages', () => {
  // Issue n is "i<n>", dated day n; the speaker is quoted in i5, i4, i2, i1 and answers quotes in i4 and i3.
  const issue = (n: number) => ({ id: `i${n}`, number: n, date: `2020-01-0${n}`, dateLabel: `day ${n}` });
  const group = (n: number) => ({ issue: issue(n), quotes: [{ id: `q${n}` }] }) as unknown as ViewGroup;
  const counter = (n: number) => ({ counterpoint: { text: `c${n}` }, answers: { id: `a${n}`, issue: issue(n) } }) as unknown as ViewCounter;
  const speaker = {
    id: 'ilya-sutskever', slug: 'ilya-sutskever', name: 'Ilya Sutskever', role: 'r', href: '/speakers/ilya-sutskever/', count: 4,
    groups: [5, 4, 2, 1].map(group), counters: [4, 3].map(counter),
  };

  it('cuts by the issues they were quoted or answered in, each quote and counterpoint on the page of its issue', () => {
    const pages = paginateSpeaker(speaker, 2, new Map([['i5', 't5'], ['i4', 't4'], ['i2', 't2']]));
    expect(pages.map((p) => [p.permalink, p.groups.map((g) => g.issue.id), p.counters.map((c) => c.counterpoint.text)])).toEqual([
      ['/speakers/ilya-sutskever/', ['i5'], []],
      // i3 holds only a counterpoint of theirs: it is counted and dated among the others, but has no quote group.
      ['/speakers/ilya-sutskever/page/2/', ['i4'], ['c4', 'c3']],
      ['/speakers/ilya-sutskever/page/1/', ['i2', 'i1'], []],
      ['/speakers/ilya-sutskever/page/3/', [], []],
    ]);
    expect(pages.map((p) => [p.to, p.from, p.lastmod])).toEqual([['day 5', 'day 5', 't5'], ['day 4', 'day 3', 't4'], ['day 2', 'day 1', 't2'], ['', '', null]]);
    expect(pages.map((p) => p.totals)).toEqual([{ quotes: 4, counterpoints: 2 }, null, null, null]);
    expect(pages[1]?.speaker).toEqual({ id: 'ilya-sutskever', slug: 'ilya-sutskever', name: 'Ilya Sutskever', role: 'r', href: '/speakers/ilya-sutskever/' });
    expect(pages[1]?.numbers.map((n) => n?.href)).toEqual(['/speakers/ilya-sutskever/', '/speakers/ilya-sutskever/page/3/', '/speakers/ilya-sutskever/page/2/', '/speakers/ilya-sutskever/page/1/']);
    expect(pages[3]?.redirect).toBe('/speakers/ilya-sutskever/');
  });

  it('gives a speaker with only counterpoints pages of them, and pages every speaker of the model once', () => {
    const pages = paginateSpeaker({ ...speaker, count: 0, groups: [] }, 20, new Map());
    expect(pages.map((p) => [p.groups, p.counters.length, p.totals])).toEqual([[[], 2, { quotes: 0, counterpoints: 2 }]]);
    const many = toArchiveModel(Array.from({ length: 7 }, (_, i) => syntheticDigest(digests[(i + 1) % 3]!, i + 1)), config, { pageIssues: 3 });
    expect(many.speakers.find((s) => s.id === 'ilya-sutskever')?.pages.map((p) => [p.number, p.groups.length])).toEqual([[null, 1], [2, 3], [1, 3], [3, 0]]);
    expect(many.render.speakers).toEqual(many.speakers.flatMap((s) => s.pages));
    expect(many.sitemap).toContain('<loc>https://example.github.io/speakers/ilya-sutskever/page/2/</loc>');
    expect(many.sitemap).not.toContain('/speakers/ilya-sutskever/page/3/');
  });
});

describe('planIncremental', () => {
  const model = toArchiveModel(digests, config);
  const hashes = Object.fromEntries(digests.map((d) => [d.id, `h-${d.id}`]));

  it('rewrites nothing when no record changed', () => {
    const previous = { records: Object.fromEntries(digests.map((d) => [d.id, { hash: `h-${d.id}` }])), pages: pageFingerprints(model) };
    expect(planIncremental(model, hashes, previous)).toEqual({ issues: [], themes: [], speakers: [] });
  });

  it('rewrites a new issue, its older neighbour, and the theme and speaker pages that show it', () => {
    const before = toArchiveModel(digests.slice(1), config);
    const previous = { records: Object.fromEntries(digests.slice(1).map((d) => [d.id, { hash: `h-${d.id}` }])), pages: pageFingerprints(before) };
    const plan = planIncremental(model, hashes, previous);
    expect(plan.issues.map((i) => i.id)).toEqual(['2026-11-30-3', '2026-11-24-2']);
    expect(plan.themes.map((p) => p.permalink).sort()).toEqual(['/themes/generalization/', '/themes/scaling-era/', '/themes/timelines/']);
    expect(plan.speakers.map((p) => p.permalink).sort()).toEqual(['/speakers/ilya-sutskever/', '/speakers/renata-sollberger/']);
  });
});

describe('planPasses', () => {
  const model = toArchiveModel(digests, config);
  const weight = (quotes: { counterpoints: unknown[] }[]): number => quotes.reduce((n, q) => n + 1 + q.counterpoints.length, 0);
  const pages = (r: (typeof model)['render']): string[] => [...r.issues.map((i) => i.href), ...r.themes.map((t) => t.href), ...r.speakers.map((s) => s.href)];

  it('puts a small archive in one pass', () => {
    expect(planPasses(model.render)).toEqual([model.render]);
  });

  it('splits pages into passes under the weight, each page once and in order, a heavy page alone', () => {
    const issueWeights = model.issues.map((i) => weight(i.sections.flatMap((s) => s.quotes)));
    const limit = Math.max(...issueWeights);
    const passes = planPasses(model.render, limit);
    expect(passes.length).toBeGreaterThan(2);
    expect(passes.flatMap(pages)).toEqual(pages(model.render));
    for (const p of passes) {
      const w = weight(p.issues.flatMap((i) => i.sections.flatMap((s) => s.quotes))) +
        weight(p.themes.flatMap((t) => t.groups.flatMap((g) => g.quotes))) +
        weight(p.speakers.flatMap((s) => s.groups.flatMap((g) => g.quotes))) + p.speakers.reduce((n, s) => n + s.counters.length, 0);
      // Over the limit only when the pass is one page heavier than the limit.
      if (w > limit) expect(pages(p)).toHaveLength(1);
    }
  });

  it('gives an empty plan (nothing changed) one empty pass, which still builds the fixed pages', () => {
    expect(planPasses({ issues: [], themes: [], speakers: [] })).toEqual([{ issues: [], themes: [], speakers: [] }]);
  });
});
