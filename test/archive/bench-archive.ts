/**
 * Times the archive build for the benchmark: a full build of N synthetic issues (made from the fixture records,
 * one a week, unique quote ids), then an incremental rebuild after adding one issue, then a full rebuild of
 * the same N+1 for comparison.
 *
 *   npx tsx test/archive/bench-archive.ts [issues=500]     prints one JSON line
 *   import { timeArchiveBuilds } from './test/archive/bench-archive.ts'
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSite } from '../../src/render/archive.js';
import { listFiles, tempDir, testConfig, writeSyntheticIssues } from './support.js';

export interface ArchiveTimings {
  issues: number;
  pages: number;
  fullMs: number;
  incrementalMs: number;
  /** HTML pages the incremental rebuild wrote. */
  incrementalPages: number;
  fullAfterAddMs: number;
  /** Full build without the Pagefind index, to show what search costs. */
  fullNoSearchMs: number;
  /** The largest theme and speaker pages of the full build (bytes) and their paths: what a reader downloads at worst. */
  largestThemePage: { file: string; bytes: number };
  largestSpeakerPage: { file: string; bytes: number };
}

/** The largest HTML file under siteDir/<folder>/. */
async function largestPage(siteDir: string, folder: string): Promise<{ file: string; bytes: number }> {
  let largest = { file: '', bytes: 0 };
  for (const f of await listFiles(path.join(siteDir, folder), '.html')) {
    const { size } = await stat(path.join(siteDir, folder, f));
    if (size > largest.bytes) largest = { file: `${folder}/${f}`, bytes: size };
  }
  return largest;
}

export async function timeArchiveBuilds(opts: { issues?: number } = {}): Promise<ArchiveTimings> {
  const issues = opts.issues ?? 500;
  const config = await testConfig({ basePath: '/debate-digest/' });
  const work = await tempDir('archive-bench-');
  const digestsDir = path.join(work, 'digests');
  await mkdir(digestsDir);
  await writeSyntheticIssues(digestsDir, 1, issues);

  const time = async (siteDir: string, incremental: boolean, skipSearchIndex = false): Promise<{ ms: number; pages: number }> => {
    const t0 = performance.now();
    const r = await buildSite({ digestsDir, siteDir, config, quiet: true, incremental, skipSearchIndex });
    return { ms: Math.round(performance.now() - t0), pages: r.pages };
  };
  const site = path.join(work, 'site');
  const full = await time(site, true);
  const largestThemePage = await largestPage(site, 'themes');
  const largestSpeakerPage = await largestPage(site, 'speakers');
  const noSearch = await time(path.join(work, 'site-nosearch'), false, true);
  await writeSyntheticIssues(digestsDir, issues + 1, issues + 1);
  const inc = await time(site, true);
  const fullAfter = await time(path.join(work, 'site-full'), false);
  await rm(work, { recursive: true, force: true });
  return {
    issues, pages: full.pages, fullMs: full.ms, incrementalMs: inc.ms, incrementalPages: inc.pages, fullAfterAddMs: fullAfter.ms,
    fullNoSearchMs: noSearch.ms, largestThemePage, largestSpeakerPage,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 500);
  console.log(JSON.stringify(await timeArchiveBuilds({ issues: n })));
}
