/**
 * A run stopped between writing an issue's record (digests/<id>.json) and the seen ledger (digests/seen.json).
 * The items of that issue must not come back as new the next week (they would be published twice), and a run
 * stopped just before the record must not lose them either. The real CLI runs in a child process that
 * test/e2e/crash-at.mjs SIGKILLs at the record's rename; then the real CLI runs again.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest, RunReport } from '../../src/model.js';
import type { SeenLedger } from '../../src/gather/ledger.js';
import { feedServer, listFiles, ROOT, tempProject } from '../helpers/project.js';

const BIN = path.join(ROOT, 'src/bin.mjs');
const PRELOAD = path.join(ROOT, 'test/e2e/crash-at.mjs');
const WEEK1 = '2026-11-30T07:00:00Z';
const WEEK1_LATER = '2026-12-02T07:00:00Z';
const WEEK2 = '2026-12-07T07:00:00Z';

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function digest(dir: string, args: string[], crashAt?: 'before-record' | 'after-record'): Promise<Result> {
  return new Promise((resolve) => {
    const node = crashAt ? ['--import', PRELOAD] : [];
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...(crashAt ? { CRASH_AT: crashAt } : {}) };
    const child = execFile(process.execPath, [...node, BIN, ...args], { cwd: dir, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }));
  });
}

const records = async (dir: string) => (await listFiles(path.join(dir, 'digests'))).filter((f) => /^\d{4}-\d\d-\d\d-\d+\.json$/.test(f));
const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;
const report = (dir: string) => readJson<RunReport>(path.join(dir, 'report.json'));
const seen = (dir: string) => readJson<SeenLedger>(path.join(dir, 'digests', 'seen.json'));
const cited = (d: Digest) => d.sources.map((s) => s.itemId).sort();

// Two feed entries (keyed by their links) and two dropped notes (keyed by their paths), each with a quote.
const rss = `<?xml version="1.0"?><rss version="2.0"><channel><title>Replies</title><link>https://replies.example.org/</link>
<item><title>Marcus answers</title><link>https://replies.example.org/marcus?utm_source=x</link><pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate>
<description>Gary Marcus wrote: "Scaling alone was never going to get us to general intelligence, and the plateau shows it." He added that the field needs new ideas about reasoning.</description></item>
<item><title>LeCun on world models</title><link>https://replies.example.org/lecun</link><pubDate>Sat, 28 Nov 2026 10:00:00 GMT</pubDate>
<description>"Large language models will not reach human-level intelligence by scaling them up," Yann LeCun said, arguing for world models learned from video instead.</description></item>
</channel></rss>`;
const notes = {
  'notes/ilya.md': '---\ntitle: Sutskever on the age of research\n---\n“From 2020 to 2025 it was the age of scaling; now it is back to the age of research again, just with big computers,” Ilya Sutskever said.\n',
  'notes/chollet.md': '---\ntitle: Chollet on benchmarks\n---\n“Scaling up pretraining does not produce fluid intelligence; it produces more memorized skill,” François Chollet said.\n',
};

describe('a run stopped between the issue record and the seen ledger', () => {
  let server: Awaited<ReturnType<typeof feedServer>>;
  beforeAll(async () => {
    server = await feedServer({ '/feed.xml': { body: rss } });
  });
  afterAll(async () => server?.close());

  async function project(): Promise<string> {
    const dir = await tempProject({ dropped: notes, feedsYaml: `feeds:\n  - url: ${server.url}/feed.xml\n    title: Replies\n` });
    await writeFile(path.join(dir, 'sources', 'settings.yaml'), 'gather:\n  allowPrivateHosts: ["127.0.0.1"]\n  backfillDays: 100000\n');
    return dir;
  }

  it('killed after the record: the rerun completes the ledger and sends once; next week nothing is new again', async () => {
    const dir = await project();
    const killed = await digest(dir, ['run', '--now', WEEK1], 'after-record');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(await records(dir)).toEqual(['2026-11-30-1.json']);
    const issue = await readJson<Digest>(path.join(dir, 'digests', '2026-11-30-1.json'));
    expect(issue.sources.length).toBeGreaterThanOrEqual(2);
    expect(await listFiles(path.join(dir, 'outbox'))).toEqual([]); // killed before sending anything

    // The same week: the slot is filled, so no second issue; the ledger is completed and the send resumes.
    const again = await digest(dir, ['run', '--now', WEEK1_LATER, '--report', 'report.json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/problem LEDGER_HEALED at \S*seen\.json: a run stopped after writing issue 2026-11-30-1's record/);
    expect(await records(dir)).toEqual(['2026-11-30-1.json']);
    expect((await listFiles(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'))).toHaveLength(3);
    const ledger = await seen(dir);
    expect(ledger.pending).toBeUndefined();
    for (const id of cited(issue)) expect(ledger.entries[id]?.issueId, id).toBe('2026-11-30-1');

    // Next week, with the same feeds and notes: nothing is new, so no issue #2 republishes them.
    const next = await digest(dir, ['make', '--now', WEEK2, '--report', 'report.json']);
    expect(next.code, next.stderr).toBe(0);
    expect((await report(dir)).newItems).toBe(0);
    expect(next.stdout).toMatch(/^nothing new/m);
    expect(next.stderr).not.toMatch(/LEDGER_HEALED/);
    expect(await records(dir)).toEqual(['2026-11-30-1.json']);
  }, 240_000);

  it('killed just before the record: the rerun makes the issue afresh with the same items, and only once', async () => {
    const dir = await project();
    const killed = await digest(dir, ['make', '--now', WEEK1], 'before-record');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(await records(dir)).toEqual([]);

    const again = await digest(dir, ['make', '--now', WEEK1_LATER, '--report', 'report.json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/problem LEDGER_HEALED at \S*seen\.json: a run stopped before writing issue 2026-11-30-1's record: the 4 items/);
    // Issue #1 again, dated by the run that made it.
    expect(await records(dir)).toEqual(['2026-12-02-1.json']);
    expect((await report(dir)).newItems).toBe(4);
    expect(cited(await readJson<Digest>(path.join(dir, 'digests', '2026-12-02-1.json')))).toHaveLength(4);

    const next = await digest(dir, ['make', '--now', WEEK2, '--report', 'report.json']);
    expect(next.code, next.stderr).toBe(0);
    expect((await report(dir)).newItems).toBe(0);
    expect(await records(dir)).toEqual(['2026-12-02-1.json']);
  }, 240_000);

  // The state the pipeline left before it wrote the ledger first (record written, then the process died): a
  // record whose items the ledger has never heard of. Made here by putting back the ledger from before the run.
  it('a record whose items the ledger lacks: next week they are marked as seen, not published again', async () => {
    const dir = await project();
    const first = await digest(dir, ['make', '--now', WEEK1]);
    expect(first.code, first.stderr).toBe(0);
    const issue = await readJson<Digest>(path.join(dir, 'digests', '2026-11-30-1.json'));
    expect(cited(issue)).toHaveLength(4); // every item is cited, so every one must stay out of next week's issue
    expect((await seen(dir)).pending).toBeUndefined(); // a run that finished leaves nothing pending
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, 'digests', 'seen.json'));

    const next = await digest(dir, ['make', '--now', WEEK2, '--report', 'report.json']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/problem LEDGER_HEALED at \S*seen\.json: 4 items cited by issue 2026-11-30-1 were not marked as issued/);
    expect((await report(dir)).newItems).toBe(0);
    expect(await records(dir)).toEqual(['2026-11-30-1.json']);
    const ledger = await seen(dir);
    for (const id of cited(issue)) expect(ledger.entries[id]?.issueId, id).toBe('2026-11-30-1');
    expect(ledger.entries[cited(issue)[0]!]?.firstSeen).toBe(issue.publishedAt);
  }, 240_000);
});
