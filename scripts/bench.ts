/**
 * `npm run bench`: the real pipeline on a realistic week at scale, stage by stage, each beside the best this
 * machine can do on the same work. The workload is deterministic (fixed seed):
 *   200 feeds × 50 items served over HTTP from 127.0.0.1, 500 past issues, 10,000 subscribers, a local
 *   SMTP sink.
 * It talks only to 127.0.0.1 and stops by itself. It prints a table, and writes the same figures as JSON to
 * bench/results.json so runs can be compared. It is a benchmark, not a test: nothing asserts a time.
 *
 * Options: --quick (smaller workload, one run per stage: a smoke test of the benchmark itself),
 *          --skip <stage,…> (gather, analyze, render, archive, deliver, e2e, serve; an unknown name is an
 *          error, exit 2), --out <file>,
 *          --only <stage,…> (the complement of --skip: `--only deliver` runs what deliver needs and measures
 *          deliver alone; without gather the issue is made from the seeds, a message of about the same size),
 *          --deliver-runs <n> (deliver measured n times, ours and the raw client back to back each time, the
 *          ratio reported as the median of the n ratios: the machine's load changes between runs),
 *          --e2e-runs <n> (the end-to-end run n times, each from the same starting state: median time, max RSS).
 *          `--only e2e` still gathers and analyzes the week once, unmeasured: the past issues are copies of it.
 */
import { fork, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Parser } from 'htmlparser2';
import { analyze, selectQuotes } from '../src/analyze/index.js';
import { composeDigest } from '../src/compose/digest.js';
import { readConfig } from '../src/config.js';
import { deliver, recipientMessages } from '../src/deliver/send.js';
import { parseSubscribers } from '../src/deliver/subscribers.js';
import { createSmtpTransport, type Transport } from '../src/deliver/transports.js';
import { emptyLedger, gather, parseDroppedFile } from '../src/gather/index.js';
import { healSeenLedger, sha256, writeSeenLedger } from '../src/gather/ledger.js';
import type { Config, Digest, RunReport, SourceItem } from '../src/model.js';
import { writeRecord } from '../src/publish/records.js';
import { buildSite, collectGarbage, issueUrl } from '../src/render/archive.js';
import { renderEmail } from '../src/render/email.js';
import { blastRawSmtp } from './bench/raw-smtp.js';
import { makeFeeds, makeSubscribers } from './bench/workload.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { quick: { type: 'boolean' }, skip: { type: 'string', default: '' }, only: { type: 'string' }, out: { type: 'string' }, 'deliver-runs': { type: 'string', default: '1' }, 'e2e-runs': { type: 'string', default: '1' } } });
const quick = Boolean(args.quick);
const STAGES = ['gather', 'analyze', 'render', 'archive', 'deliver', 'e2e', 'serve'];

/** Exit 2 with a usage message: a typo in a stage name must not silently run (or skip) everything. */
function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

/** The stage names of --skip or --only; an unknown one is a usage error listing the valid ones. */
function stageList(flag: 'skip' | 'only', raw: string): Set<string> {
  const names = raw.split(',').map((st) => st.trim()).filter(Boolean);
  const unknown = names.filter((st) => !STAGES.includes(st));
  if (unknown.length) usage(`--${flag}: unknown stage ${unknown.map((st) => `"${st}"`).join(', ')}; the stages are ${STAGES.join(', ')}`);
  return new Set(names);
}

if (args.only !== undefined && args.skip) usage('--skip and --only cannot be combined: --only names the stages to run, --skip the ones not to');
const only = args.only === undefined ? null : stageList('only', String(args.only));
if (only?.size === 0) usage(`--only needs at least one stage: ${STAGES.join(', ')}`);
// Stages downstream of analyze need its digest: analyze is then run (on the seeds when gather is skipped).
const skip = only ? new Set(STAGES.filter((st) => !only.has(st) && !(st === 'analyze' && ['render', 'archive', 'deliver', 'e2e'].some((d) => only.has(d))))) : stageList('skip', String(args.skip));
const deliverRuns = Math.max(1, Number(args['deliver-runs']) || 1);
const e2eRuns = Math.max(1, Number(args['e2e-runs']) || 1);
const SIZE = quick
  ? { feeds: 20, items: 10, issues: 20, subscribers: 300, runs: 1 }
  : { feeds: 200, items: 50, issues: 500, subscribers: 10_000, runs: 3 };
const SEED = 20251125;
const NOW = new Date('2026-11-30T07:00:00Z');

interface Row {
  stage: string;
  work: string;
  medianMs: number;
  throughput: string;
  peakRssMb: number;
  baseline: string;
  ratio: number | null;
  note?: string;
}
const rows: Row[] = [];
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** Time `fn` `runs` times; report the median and the peak RSS seen while it ran (sampled every 20 ms). */
async function measure<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; peakRssMb: number; last: T }> {
  const times: number[] = [];
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let last!: T;
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      last = await fn();
      times.push(performance.now() - t0);
    }
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms: median(times), peakRssMb: Math.round(peak / 1048576), last };
}

const rate = (n: number, ms: number, unit: string) => `${Math.round(n / (ms / 1000)).toLocaleString('en')} ${unit}/s`;

/** An SMTP sink on 127.0.0.1 in a child process (scripts/bench/smtp-sink.mjs) that accepts and counts. */
async function smtpSink(): Promise<{ port: number; count: () => Promise<number>; first: () => Promise<Buffer | null>; cpuMs: () => Promise<number>; close: () => Promise<void> }> {
  const child = fork(path.join(ROOT, 'scripts/bench/smtp-sink.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<{ port?: number; count?: number; first?: string | null; cpuMs?: number }>((r) => child.once('message', (m) => r(m as never)));
  const { port } = await next();
  const stats = async () => {
    const p = next();
    child.send('stats');
    return p;
  };
  return {
    port: port as number,
    count: async () => (await stats()).count ?? 0,
    cpuMs: async () => (await stats()).cpuMs ?? 0,
    first: async () => {
      const f = (await stats()).first;
      return f ? Buffer.from(f, 'base64') : null;
    },
    close: async () => {
      child.send('stop');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function feedServer(feedTexts: string[]): Promise<{ url: string; close: () => Promise<void> }> {
  // Encoded once: the server shares the process with gather, and a real server sends bytes it already has,
  // so encoding 17.6 MB of strings on every request must not be charged to gather.
  const bodies = feedTexts.map((t) => Buffer.from(t, 'utf8'));
  const server = http.createServer((req, res) => {
    const i = Number(/^\/feed\/(\d+)\.xml$/.exec(req.url ?? '')?.[1] ?? -1);
    const body = bodies[i];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function feedsYaml(base: string, n: number): string {
  return `feeds:\n${Array.from({ length: n }, (_, i) => `  - url: ${base}/feed/${i}.xml\n    title: Bench feed ${i}\n`).join('')}`;
}

/** A throwaway sources/ folder: the shipped themes and speakers, the bench's feeds, no dropped files. */
function benchSources(dir: string, feedBase: string): string {
  const src = path.join(dir, 'sources');
  mkdirSync(src, { recursive: true });
  for (const f of ['themes.yaml', 'speakers.yaml']) cpSync(path.join(ROOT, 'sources', f), path.join(src, f));
  writeFileSync(path.join(src, 'feeds.yaml'), feedsYaml(feedBase, SIZE.feeds));
  writeFileSync(path.join(src, 'settings.yaml'),
    'gather:\n  allowPrivateHosts: ["127.0.0.1"]\n  perHostConcurrency: 16\n  maxItemsPerFeed: 1000\nanalyze:\n  maxQuotes: 24\n');
  return src;
}

/** A raw SAX pass over the same bytes: the floor for any feed parser. */
function rawParse(bodies: string[]): number {
  let items = 0;
  const parser = new Parser({ onopentag: (name) => { if (name === 'item') items++; } }, { xmlMode: true });
  for (const b of bodies) {
    parser.write(b);
    parser.reset();
  }
  parser.end();
  return items;
}

function tokenCount(items: SourceItem[]): number {
  return items.reduce((n, i) => n + (i.text.match(/\S+/g)?.length ?? 0), 0);
}

/**
 * Past issues for the archive and the end-to-end run: copies of one real issue under new numbers and weekly
 * dates, each citing items of its own (every item id and link of the template made distinct per issue). Copies
 * citing the measured week's own items made the end-to-end run find them already issued: it gathered fewer new
 * items than the week has (9,976 of 10,000) and, with no seen ledger beside the records, reported LEDGER_HEALED.
 */
function pastIssues(template: Digest, n: number): Digest[] {
  const out: Digest[] = [];
  for (let i = 1; i <= n; i++) {
    const d = new Date(NOW.getTime() - (n - i + 1) * 7 * 86_400_000);
    const date = d.toISOString().slice(0, 10);
    out.push({ ...citingOwnItems(template, i), id: `${date}-${i}`, number: i, date, slot: `past-${i}`, publishedAt: d.toISOString(), title: `Debate Digest #${i}`, subject: `Debate Digest #${i}` });
  }
  return out;
}

/** A copy of `value` whose every `itemId` and `url` (sources, quotes, citations, counterpoints) belongs to past issue `n`. */
function citingOwnItems<T>(value: T, n: number): T {
  const url = (u: string) => {
    try {
      const x = new URL(u);
      x.searchParams.set('bench-past-issue', String(n));
      return x.href;
    } catch {
      return u;
    }
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k,
      k === 'itemId' && typeof x === 'string' ? sha256(`past-${n}:${x}`).slice(0, 16) : k === 'url' && typeof x === 'string' ? url(x) : walk(x)]));
  };
  return walk(value) as T;
}

/** Write past issues' records, and the seen ledger a repository holding them has (their items issued). */
async function writePastIssues(digestsDir: string, issues: Digest[]): Promise<void> {
  for (const d of issues) await writeRecord(digestsDir, d);
  await writeSeenLedger(digestsDir, healSeenLedger(emptyLedger(), issues).ledger);
}

/**
 * A transport that accepts every message at once, so deliver() runs its whole per-recipient path (unsubscribe
 * token, Message-ID, the recipient's parts spliced into the message built once per issue, the send ledger's
 * lines) without a network. Named 'json' only because Transport names a closed set; unlike the json transport
 * it never joins a message into one buffer, which the SMTP transport does not do either.
 */
function acceptingTransport(): Transport {
  return {
    name: 'json',
    async send(msg) {
      await msg.onCommit?.();
      return { accepted: true, response: '250 accepted' };
    },
    async verify() {},
    async close() {},
  };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dd-bench-'));
  log(`workload: ${SIZE.feeds} feeds × ${SIZE.items} items, ${SIZE.issues} past issues, ${SIZE.subscribers.toLocaleString('en')} subscribers (seed ${SEED}) in ${tmp}`);
  const bodies = makeFeeds(SEED, SIZE.feeds, SIZE.items, NOW);
  const bytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
  const feeds = await feedServer(bodies);
  const sources = benchSources(tmp, feeds.url);
  const config: Config = await readConfig(sources);
  const subscribersCsv = `email\n${makeSubscribers(SIZE.subscribers).join('\n')}\n`;
  writeFileSync(path.join(tmp, 'subscribers.csv'), subscribersCsv);
  const { subscribers } = parseSubscribers(subscribersCsv, 'bench', config.email.listId);
  let gatheredItems: SourceItem[] = [];

  try {
    // ── gather ──
    if (!skip.has('gather')) {
      log('gather…');
      const g = await measure(SIZE.runs, () => gather({ config, sourcesDir: sources, ledger: emptyLedger(), now: NOW }));
      gatheredItems = g.last.gathered.items;
      const raw = await measure(Math.max(SIZE.runs, 5), async () => rawParse(bodies));
      const n = gatheredItems.length;
      rows.push({
        stage: 'gather', work: `${SIZE.feeds} feeds, ${n.toLocaleString('en')} items, ${(bytes / 1048576).toFixed(1)} MB over HTTP`,
        medianMs: g.ms, throughput: rate(n, g.ms, 'items'), peakRssMb: g.peakRssMb,
        baseline: `raw SAX parse of the same bytes: ${rate(raw.last, raw.ms, 'items')}`, ratio: raw.ms / g.ms,
        note: g.last.gathered.problems.length ? `${g.last.gathered.problems.length} problems` : undefined,
      });
    }

    // ── analyze ──
    let digest: Digest | null = null;
    if (!skip.has('analyze')) {
      log('analyze…');
      const seedDir = path.resolve(ROOT, '../shared/seeds');
      const seeds = readdirSync(seedDir).sort().map((f) => parseDroppedFile(readFileSync(path.join(seedDir, f), 'utf8'), `seeds/${f}`).item).filter((i): i is SourceItem => Boolean(i));
      const opts = { themes: config.themes, speakers: config.speakers, analyze: config.analyze };
      const a1 = await measure(Math.max(SIZE.runs, 5), async () => analyze(seeds, opts));
      const t1 = tokenCount(seeds);
      rows.push({ stage: 'analyze', work: `5 seeds, ${t1.toLocaleString('en')} tokens, ${a1.last.quotes.length} quotes`, medianMs: a1.ms, throughput: rate(t1, a1.ms, 'tokens'), peakRssMb: a1.peakRssMb, baseline: '—', ratio: null });
      if (gatheredItems.length) {
        const a2 = await measure(SIZE.runs, async () => analyze(gatheredItems, opts));
        const t2 = tokenCount(gatheredItems);
        rows.push({ stage: 'analyze', work: `${gatheredItems.length.toLocaleString('en')} feed items, ${t2.toLocaleString('en')} tokens, ${a2.last.quotes.length.toLocaleString('en')} quotes`, medianMs: a2.ms, throughput: rate(t2, a2.ms, 'tokens'), peakRssMb: a2.peakRssMb, baseline: '—', ratio: null });
        digest = composeDigest({ analysis: a2.last, selected: selectQuotes(a2.last, config.analyze), items: gatheredItems, config, number: SIZE.issues + 1, now: NOW });
      } else {
        digest = composeDigest({ analysis: a1.last, selected: selectQuotes(a1.last, config.analyze), items: seeds, config, number: SIZE.issues + 1, now: NOW });
      }
    }
    // The end-to-end run's past issues are copies of this digest, and their size drives the archive build's
    // memory: made from the seeds (a smaller issue) they would understate it. So when gather is skipped, the
    // bench's week is gathered and analyzed once, unmeasured, as the full bench does.
    if (!skip.has('e2e') && skip.has('gather') && !quick) {
      log('e2e: gathering the week once (unmeasured) for the past issues…');
      const g = await gather({ config, sourcesDir: sources, ledger: emptyLedger(), now: NOW });
      const a = analyze(g.gathered.items, { themes: config.themes, speakers: config.speakers, analyze: config.analyze });
      digest = composeDigest({ analysis: a, selected: selectQuotes(a, config.analyze), items: g.gathered.items, config, number: SIZE.issues + 1, now: NOW });
    }
    const downstream = ['render', 'archive', 'deliver', 'e2e'].filter((st) => !skip.has(st));
    if (!digest && downstream.length) throw new Error(`the analyze stage is needed for ${downstream.join(', ')}`);
    if (digest) {

    // ── render ──
    const urls = { webUrl: issueUrl(config, digest.id), archiveUrl: issueUrl(config, '') };
    const rendered = await renderEmail(digest, config, urls);
    if (!skip.has('render')) {
      log('render…');
      const r = await measure(Math.max(SIZE.runs, 5), () => renderEmail(digest as Digest, config, urls));
      // What each recipient costs once MJML has run for the issue, measured on the path real sends take:
      // deliver() itself, to a transport that accepts at once (no network), 5 at a time as over SMTP.
      const n = SIZE.subscribers;
      let runNo = 0;
      const cpu0 = process.cpuUsage();
      const p = await measure(SIZE.runs, () => deliver({
        digest: digest as Digest, rendered, config, subscribers, transport: acceptingTransport(), ledgerDir: path.join(tmp, `ledger-per-recipient-${runNo++}`),
        now: NOW, dryRun: false, secret: 'bench-secret', dkim: null, concurrency: 5,
      }));
      const cpu = process.cpuUsage(cpu0);
      if (p.last.sent !== n) throw new Error(`deliver sent ${p.last.sent} of ${n} to the accepting transport`);
      // The personalisation in that path alone (token, Message-ID, the recipient's parts spliced into the
      // message built once): deliver's own step, without the send ledger and the transport around it.
      const messageFor = await recipientMessages({ rendered, config, issueId: (digest as Digest).id, transport: acceptingTransport(), secret: 'bench-secret', now: NOW });
      let personalised = 0;
      const pcpu0 = process.cpuUsage();
      const pm = await measure(SIZE.runs, async () => {
        for (const s of subscribers) {
          const { msg } = await messageFor(s.email, s.hash);
          if (msg.data === undefined) throw new Error('a message without SMTP data chunks');
          personalised++;
        }
      });
      const pcpu = process.cpuUsage(pcpu0);
      rows.push({ stage: 'render', work: `1 issue, ${Math.round(rendered.htmlBytes / 1024)} KB HTML (MJML once per issue)`, medianMs: r.ms, throughput: `${(1000 / r.ms).toFixed(1)} issues/s`, peakRssMb: r.peakRssMb, baseline: '—', ratio: null });
      rows.push({
        stage: 'render', work: `personalisation × ${n.toLocaleString('en')} recipients (unsubscribe token, Message-ID, splice into the message built once)`,
        medianMs: pm.ms, throughput: `${((pcpu.user + pcpu.system) / 1000 / personalised).toFixed(4)} ms CPU per recipient`, peakRssMb: pm.peakRssMb,
        baseline: 'MJML render per recipient instead', ratio: (r.ms * n) / pm.ms,
      });
      rows.push({
        stage: 'render', work: `deliver's per-recipient work × ${n.toLocaleString('en')} (the above, plus the send ledger and the transport call; no network)`,
        medianMs: p.ms, throughput: `${((cpu.user + cpu.system) / 1000 / (n * runNo)).toFixed(4)} ms CPU per recipient`, peakRssMb: p.peakRssMb,
        baseline: 'MJML render per recipient instead', ratio: (r.ms * n) / p.ms,
      });
    }

    // ── archive ──
    if (!skip.has('archive')) {
      log('archive…');
      const digestsDir = path.join(tmp, 'digests');
      await writePastIssues(digestsDir, pastIssues(digest, SIZE.issues));
      const siteDir = path.join(tmp, '_site');
      const full = await measure(1, () => buildSite({ digestsDir, siteDir, config, quiet: true }));
      await writeRecord(digestsDir, { ...digest, id: `${NOW.toISOString().slice(0, 10)}-${SIZE.issues + 1}`, number: SIZE.issues + 1 });
      const inc = await measure(1, () => buildSite({ digestsDir, siteDir, config, quiet: true, incremental: true }));
      rows.push({ stage: 'archive', work: `Eleventy build of ${SIZE.issues} issues (${full.last.pages.toLocaleString('en')} pages, search index)`, medianMs: full.ms, throughput: rate(full.last.pages, full.ms, 'pages'), peakRssMb: full.peakRssMb, baseline: '—', ratio: null });
      rows.push({ stage: 'archive', work: 'incremental rebuild after one new issue', medianMs: inc.ms, throughput: `${inc.last.pages} pages`, peakRssMb: inc.peakRssMb, baseline: 'the full build', ratio: full.ms / inc.ms });
    }

    // ── deliver ──
    let sinkPort = 0;
    if (!skip.has('deliver')) {
      log('deliver…');
      const sink = await smtpSink();
      sinkPort = sink.port;
      const ours: number[] = [];
      const rawMs: number[] = [];
      const ratios: number[] = [];
      let sent = 0;
      let sample: Buffer | null = null;
      let peakRssMb = 0;
      // CPU per message, ours and the raw client's (this process) and the sink's: steadier than wall time on a
      // shared machine, and says which side a slow run waited on.
      const cpuOf = async <T>(fn: () => Promise<T>) => {
        const s0 = await sink.cpuMs();
        const c0 = process.cpuUsage();
        const out = await fn();
        const c = process.cpuUsage(c0);
        return { out, clientMs: (c.user + c.system) / 1000, sinkMs: (await sink.cpuMs()) - s0 };
      };
      const perMsg = (ms: number) => (ms / SIZE.subscribers).toFixed(3);
      let cpuNote = '';
      // The same bytes the sink received from us (dot-stuffed again), made before the clock starts.
      const rawMessages = (n: number) => {
        const stuffed = Buffer.from((sample as Buffer).toString('latin1').replace(/\r?\n/g, '\r\n').replace(/\r\n\./g, '\r\n..'), 'latin1');
        return Array.from({ length: n }, () => stuffed);
      };
      const rawBlast = (messages: Buffer[]) => blastRawSmtp({ port: sink.port, connections: 5, messages, from: 'bench@example.org', to: (i) => `reader${i}@example.com` });
      {
        // Warm-up, unmeasured: a few hundred messages each way first. The sink is a fresh process and ours ran
        // first against it, so ours alone paid for the sink's JIT warm-up (its CPU per message was ~30% higher in
        // every first run than in the next ones).
        const warm = subscribers.slice(0, Math.max(1, Math.min(500, Math.floor(subscribers.length / 10))));
        const transport = createSmtpTransport(`smtp://127.0.0.1:${sink.port}`, { maxConnections: 5 });
        await deliver({ digest: digest as Digest, rendered, config, subscribers: warm, transport, ledgerDir: path.join(tmp, 'ledger-warm-up'), now: NOW, dryRun: false, secret: 'bench-secret', dkim: null });
        await transport.close();
        sample = await sink.first();
        if (!sample) throw new Error('the sink received nothing');
        await rawBlast(rawMessages(warm.length));
      }
      // Each measured run starts from a collected heap, ours and raw alike: otherwise whichever runs first after
      // analyze pays for collecting its garbage (hundreds of MB on the full workload).
      for (let run = 0; run < deliverRuns; run++) {
        collectGarbage();
        const transport = createSmtpTransport(`smtp://127.0.0.1:${sink.port}`, { maxConnections: 5 });
        const ledgerDir = path.join(tmp, `ledger-${run}`);
        const oc = await cpuOf(() => measure(1, () => deliver({ digest: digest as Digest, rendered, config, subscribers, transport, ledgerDir, now: NOW, dryRun: false, secret: 'bench-secret', dkim: null })));
        const d = oc.out;
        await transport.close();
        sent = d.last.sent;
        peakRssMb = Math.max(peakRssMb, d.peakRssMb);
        // The ceiling: the same bytes pushed by a bare protocol client over 5 connections.
        const messages = rawMessages(SIZE.subscribers);
        collectGarbage();
        const rc = await cpuOf(() => measure(1, () => rawBlast(messages)));
        const raw = rc.out;
        ours.push(d.ms);
        rawMs.push(raw.ms);
        ratios.push(raw.ms / d.ms);
        cpuNote = `CPU ms/message, client + sink: ours ${perMsg(oc.clientMs)} + ${perMsg(oc.sinkMs)}, raw ${perMsg(rc.clientMs)} + ${perMsg(rc.sinkMs)}`;
        log(`deliver run ${run + 1}/${deliverRuns}: ours ${rate(sent, d.ms, 'messages')}, raw ${rate(SIZE.subscribers, raw.ms, 'messages')}, ratio ${(raw.ms / d.ms).toFixed(2)}×; ${cpuNote}`);
      }
      rows.push({
        stage: 'deliver', work: `${sent.toLocaleString('en')} messages of ${Math.round((sample as Buffer).length / 1024)} KB to a local smtp-server sink`,
        medianMs: median(ours), throughput: rate(sent, median(ours), 'messages'), peakRssMb,
        baseline: `raw SMTP client, same sink and bytes: ${rate(SIZE.subscribers, median(rawMs), 'messages')}`, ratio: median(ratios),
        note: `${deliverRuns > 1 ? `median of ${deliverRuns} back-to-back runs; ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}; last run ` : ''}${cpuNote}`,
      });
      await sink.close();
    }

    // ── end to end ──
    if (!skip.has('e2e')) {
      const sink = await smtpSink();
      const pristine = path.join(tmp, 'e2e-pristine');
      mkdirSync(pristine);
      cpSync(sources, path.join(pristine, 'sources'), { recursive: true });
      await writePastIssues(path.join(pristine, 'digests'), pastIssues(digest, SIZE.issues));
      const times: number[] = [];
      const selfKb: number[] = [];
      const treeKb: number[] = [];
      const cpu: number[] = [];
      let sent = 0;
      let failed = '';
      let report: RunReport | null = null;
      for (let run = 0; run < e2eRuns; run++) {
        log(`end to end${e2eRuns > 1 ? ` run ${run + 1}/${e2eRuns}` : ''}…`);
        // Each run starts from the same state (no record for this week yet), so every run does the whole job.
        const e2eDir = path.join(tmp, `e2e-${run}`);
        cpSync(pristine, e2eDir, { recursive: true });
        const before = await sink.count();
        const t0 = performance.now();
        const { code, maxRssKb, maxTreeRssKb, cpuMs, output } = await runChild(['run', '--now', NOW.toISOString(), '--quiet', '--report', 'report.json'], e2eDir, {
          SMTP_URL: `smtp://127.0.0.1:${sink.port}`, SUBSCRIBERS_FILE: path.join(tmp, 'subscribers.csv'), UNSUBSCRIBE_SECRET: 'bench-secret',
        });
        const ms = performance.now() - t0;
        sent = (await sink.count()) - before;
        if (code !== 0) {
          log(`end-to-end run exited ${code}:\n${output}`);
          failed = `exit ${code}`;
        }
        // The run's own account: every item of the week new, and no problem (a problem here is the bench's own
        // set-up going wrong, as when the past issues cited this week's items).
        try {
          report = JSON.parse(readFileSync(path.join(e2eDir, 'report.json'), 'utf8')) as RunReport;
        } catch {
          report = null;
        }
        if (report?.problems.length) log(`end-to-end run reported ${report.problems.length === 1 ? 'a problem' : `${report.problems.length} problems`}:\n${output}`);
        times.push(ms);
        selfKb.push(maxRssKb);
        treeKb.push(maxTreeRssKb);
        cpu.push(cpuMs);
        log(`end to end run ${run + 1}: ${(ms / 1000).toFixed(1)} s (CPU ${(cpuMs / 1000).toFixed(1)} s), peak RSS ${Math.round(maxRssKb / 1024)} MB (process), ${Math.round(maxTreeRssKb / 1024)} MB (process and its children, sampled)`);
        rmSync(e2eDir, { recursive: true, force: true });
      }
      const mb = (kb: number) => Math.round(kb / 1024);
      rows.push({
        stage: 'end to end', work: `digest run: ${SIZE.feeds * SIZE.items} items served, ${report ? `${report.newItems.toLocaleString('en')} new` : 'no report'}, ${sent.toLocaleString('en')} messages out, ${SIZE.issues + 1}-issue archive`,
        medianMs: median(times), throughput: failed || (report?.problems.length ? `ok, problems: ${[...new Set(report.problems.map((p) => p.code))].join(', ')}` : 'ok'), peakRssMb: mb(Math.max(...selfKb)), baseline: 'target: < 60 s, < 1 GB', ratio: null,
        // The process's own maxRSS leaves out its children (Pagefind's indexer is a separate binary): the sum
        // over the process tree, sampled every 50 ms, is reported beside it.
        note: `peak RSS of the process; with its children (Pagefind) summed at the same moment, sampled: ${mb(Math.max(...treeKb))} MB; ` +
          `CPU time of the process ${(median(cpu) / 1000).toFixed(1)} s` +
          (e2eRuns > 1 ? `; ${e2eRuns} runs (wall, CPU, RSS process/tree): ${times.map((t, i) => `${(t / 1000).toFixed(1)} s ${((cpu[i] ?? 0) / 1000).toFixed(1)} s ${mb(selfKb[i] ?? 0)}/${mb(treeKb[i] ?? 0)} MB`).join(', ')}; median times, max RSS` : ''),
      });
      await sink.close();
    }
    void sinkPort;

    }

    // ── subscription service (issue 9) ──
    if (!skip.has('serve')) {
      try {
        const mod = (await import('../src/serve/load.js')) as { loadTest?: (o: Record<string, unknown>) => Promise<{ subscribe: { rps: number; p99ms: number }; unsubscribe: { rps: number; p99ms: number }; lost: number; duplicated: number }> };
        if (mod.loadTest) {
          log('serve…');
          const r = await mod.loadTest({ requests: quick ? 200 : 2000, connections: 10, config });
          rows.push({ stage: 'serve', work: 'POST /subscribe', medianMs: 0, throughput: `${Math.round(r.subscribe.rps)} req/s, p99 ${r.subscribe.p99ms.toFixed(1)} ms`, peakRssMb: 0, baseline: '—', ratio: null, note: `lost ${r.lost}, duplicated ${r.duplicated}` });
          rows.push({ stage: 'serve', work: 'POST /unsubscribe (one-click)', medianMs: 0, throughput: `${Math.round(r.unsubscribe.rps)} req/s, p99 ${r.unsubscribe.p99ms.toFixed(1)} ms`, peakRssMb: 0, baseline: '—', ratio: null });
        }
      } catch (err) {
        log(`serve load test not run: ${(err as Error).message}`);
      }
    }
  } finally {
    await feeds.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`;
  printTable(machine);
  // A partial run (--only) never overwrites the full figures.
  const out = args.out ?? path.join(ROOT, 'bench', quick ? 'results-quick.json' : only ? 'results-partial.json' : 'results.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, quick, size: SIZE, seed: SEED, rows }, null, 2)}\n`);
  log(`figures written to ${path.relative(process.cwd(), out)}`);
}

/**
 * Resident set (KB) of a process and all its descendants, summed at one moment, from /proc (Linux); 0 when
 * /proc is not there. Shared pages count once per process, so this errs high, never low.
 */
function treeRssKb(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) stack.push(Number(c));
      }
    } catch {
      /* the process ended between reads */
    }
  }
  return total;
}

/**
 * Run the real CLI in a child, returning its exit code, its own peak RSS and CPU time (from a preload that
 * reports them) and the peak of its whole process tree's RSS summed (sampled every 50 ms, so a short spike can
 * be missed).
 */
function runChild(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; maxRssKb: number; maxTreeRssKb: number; cpuMs: number; output: string }> {
  const report = path.join(cwd, 'rss.txt');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', path.join(ROOT, 'scripts/bench/report-rss.mjs'), path.join(ROOT, 'src/bin.mjs'), ...argv], {
      cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, DIGEST_RSS_REPORT: report, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let maxTreeRssKb = 0;
    const sampler = setInterval(() => {
      if (child.pid) maxTreeRssKb = Math.max(maxTreeRssKb, treeRssKb(child.pid));
    }, 50);
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code) => {
      clearInterval(sampler);
      let maxRssKb = 0;
      let cpuMs = 0;
      try {
        [maxRssKb = 0, cpuMs = 0] = readFileSync(report, 'utf8').split(' ').map(Number);
      } catch {
        /* the child died before reporting */
      }
      // The sampler can miss the process's own peak; it is never less than that.
      resolve({ code: code ?? 1, maxRssKb, maxTreeRssKb: Math.max(maxTreeRssKb, maxRssKb), cpuMs, output });
    });
  });
}

function printTable(machine: string): void {
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  const header = ['stage', 'work', 'median', 'throughput', 'peak RSS', 'baseline', 'ratio'];
  const body = rows.map((r) => [r.stage, r.work + (r.note ? ` (${r.note})` : ''), r.medianMs ? fmt(r.medianMs) : '—', r.throughput, r.peakRssMb ? `${r.peakRssMb} MB` : '—', r.baseline, r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`]);
  const lines = [header, ...body].map((cells) => `| ${cells.join(' | ')} |`);
  lines.splice(1, 0, `|${header.map(() => '---').join('|')}|`);
  process.stdout.write(`\nbench on ${machine}${quick ? ' (quick)' : ''}\n\n${lines.join('\n')}\n\n`);
}

await main();
