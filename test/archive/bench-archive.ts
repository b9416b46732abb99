/**
 * Times the archive build for the benchmark: a full build of N synthetic issues (made from the fixture records,
 * one a week, unique quote ids), then an incremental rebuild after adding one issue, then a full rebuild of
 * the same N+1 for comparison.
 *
 *   npx tsx test/archive/bench-archive.ts [issues=500]     prints one JSON line
 *   import { timeArchiveBuilds } from './test/archive/bench-archive.ts'
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSite } from '../../src/render/archive.js';
import type { Digest } from '../../src/model.js';
import { fixtureDigests, listFiles, tempDir, testConfig } from './support.js';

export interface ArchiveTimings {
  issues: number;
  pages: number;
  fullMs: number;
  incrementalMs: number;
  fullAfterAddMs: number;
  /** Full build without the Pagefind index, to show what search costs. */
  fullNoSearchMs: number;
  /** The largest theme page of the full build (bytes) and its path: what a reader downloads at worst. */
  largestThemePage: { file: string; bytes: number };
}

/** The largest HTML file under siteDir/themes/. */
async function largestThemePage(siteDir: string): Promise<{ file: string; bytes: number }> {
  let largest = { file: '', bytes: 0 };
  for (const f of await listFiles(path.join(siteDir, 'themes'), '.html')) {
    const { size } = await stat(path.join(siteDir, 'themes', f));
    if (size > largest.bytes) largest = { file: `themes/${f}`, bytes: size };
  }
  return largest;
}

function dateAfter(start: string, days: number): string {
  return new Date(Date.parse(`${start}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Issue n (1-based) of a synthetic archive: fixture content, a weekly date, quote ids made unique. */
export function syntheticDigest(base: Digest, n: number): Digest {
  const date = dateAfter('2017-01-02', (n - 1) * 7);
  const id = `${date}-${n}`;
  const suffix = `-${n}`;
  return {
    ...base,
    id,
    number: n,
    date,
    slot: `${date.slice(0, 4)}-W${String(((n - 1) % 52) + 1).padStart(2, '0')}`,
    publishedAt: `${date}T07:00:00.000Z`,
    title: `${base.title.replace(/<[^>]*>/g, '')} (${n})`,
    sections: base.sections.map((s) => ({
      ...s,
      quotes: s.quotes.map((q) => ({
        ...q,
        id: q.id + suffix,
        counterpoints: q.counterpoints.map((c) => ({ ...c, quoteId: c.quoteId + suffix, counterQuoteId: c.counterQuoteId ? c.counterQuoteId + suffix : null })),
      })),
    })),
  };
}

export async function timeArchiveBuilds(opts: { issues?: number } = {}): Promise<ArchiveTimings> {
  const issues = opts.issues ?? 500;
  const bases = await fixtureDigests();
  const config = await testConfig({ basePath: '/debate-digest/' });
  const work = await tempDir('archive-bench-');
  const digestsDir = path.join(work, 'digests');
  await mkdir(digestsDir);
  const write = (n: number): Promise<void> => {
    const d = syntheticDigest(bases[n % bases.length]!, n);
    return writeFile(path.join(digestsDir, `${d.id}.json`), JSON.stringify(d));
  };
  for (let n = 1; n <= issues; n++) await write(n);

  const time = async (siteDir: string, incremental: boolean, skipSearchIndex = false): Promise<{ ms: number; pages: number }> => {
    const t0 = performance.now();
    const r = await buildSite({ digestsDir, siteDir, config, quiet: true, incremental, skipSearchIndex });
    return { ms: Math.round(performance.now() - t0), pages: r.pages };
  };
  const site = path.join(work, 'site');
  const full = await time(site, true);
  const largest = await largestThemePage(site);
  const noSearch = await time(path.join(work, 'site-nosearch'), false, true);
  await write(issues + 1);
  const inc = await time(site, true);
  const fullAfter = await time(path.join(work, 'site-full'), false);
  await rm(work, { recursive: true, force: true });
  return { issues, pages: full.pages, fullMs: full.ms, incrementalMs: inc.ms, fullAfterAddMs: fullAfter.ms, fullNoSearchMs: noSearch.ms, largestThemePage: largest };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 500);
  console.log(JSON.stringify(await timeArchiveBuilds({ issues: n })));
}
