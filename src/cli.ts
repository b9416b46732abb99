import { appendFile, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { analyze, analysisToJson } from './analyze/index.js';
import { readConfig } from './config.js';
import { DigestError } from './errors.js';
import { parseDroppedFile } from './gather/files.js';
import { buildArchive, deliveryIncomplete, makeIssue, run, sendIssue, type Progress, type RunOptions } from './pipeline.js';
import { readRecords, writeFileAtomic } from './publish/records.js';
import { issueUrl } from './render/archive.js';
import { personalize, renderEmail } from './render/email.js';
import { problemLines, summaryLine, summaryMarkdown } from './report.js';
import type { RunReport } from './model.js';

export const USAGE = `digest: a themed digest of the "age of scaling or age of research?" debate

Usage:
  digest run      [options]        gather → analyze → compose → publish → build the archive → send
  digest make     [options]        make the issue only: the record in digests/ and the seen ledger
  digest site     [options]        build the archive (pages, Atom and JSON feeds) from digests/ into _site/
  digest send     [options]        send the latest issue, resuming where a previous send stopped
  digest analyze  <file...> --json print the quotes and counterpoints found in the given files
  digest preview  [--port 8080]    serve _site/ and the latest email on 127.0.0.1
  digest serve    [--host 127.0.0.1] [--port 8787]
                                   the subscription service: double opt-in, one-click unsubscribe (SQLite)
  digest help                      this text

Options:
  --sources <dir>     feeds.yaml, themes.yaml, speakers.yaml, settings.yaml and dropped files (default: sources)
  --digests <dir>     issue records and ledgers (default: digests)
  --site <dir>        where the archive is built (default: _site)
  --outbox <dir>      where the outbox transport writes .eml files (default: outbox)
  --now <ISO date>    the time of the run, for reproducible issues (default: $DIGEST_NOW, else now)
  --dry-run           write nothing, send nothing; print what would happen
  --force             make an issue even when nothing is new
  --quiet             print only problems and the summary line
  --report <file>     write the run report as JSON
  --summary <file>    append a Markdown summary (for $GITHUB_STEP_SUMMARY)
  send only:  --issue <id>  resume a given issue · --to <address>  send one test copy, ledger untouched
              --resend-unknown  also resend messages whose outcome is unknown (possible duplicates)

Environment:
  SMTP_URL            smtp(s)://user:pass@host:port: send through SMTP instead of the outbox
  SUBSCRIBERS         comma- or newline-separated addresses; or SUBSCRIBERS_FILE: a CSV with an email column
  UNSUBSCRIBE_SECRET  signs unsubscribe tokens (required with SMTP_URL)
  DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN   sign messages with DKIM
  DATABASE_PATH       serve: the SQLite file (default subscribers.db); EXPORT_TOKEN guards GET /export

Examples:
  npx digest run                                   # the default job: sources/ → digests/, _site/, outbox/
  npx digest run --dry-run                         # see what would be made and sent
  npx digest run --now 2026-12-07T08:00:00Z        # a reproducible run for a given week
  npx digest analyze sources/dropped/*.md --json   # quotes, speakers, themes and counterpoints as JSON
  SMTP_URL=smtp://127.0.0.1:2525 npx digest send --to me@example.org

Exit codes: 0 done (also "nothing new"), 1 the run failed, 2 usage or configuration error.
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  env: process.env,
  cwd: process.cwd(),
};

const OPTIONS = {
  sources: { type: 'string' },
  digests: { type: 'string' },
  site: { type: 'string' },
  outbox: { type: 'string' },
  now: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  summary: { type: 'string' },
  issue: { type: 'string' },
  to: { type: 'string' },
  'resend-unknown': { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): DigestError {
  return new DigestError('USAGE', message, { hint: 'see the usage above' });
}

function parseNow(raw: string | undefined): Date {
  if (raw === undefined) return new Date();
  const d = new Date(raw);
  // Only ISO 8601 dates: `new Date()` also takes "2026" or "Dec 7", which would silently pick a week.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) || Number.isNaN(d.getTime()))
    throw usageError(`--now "${raw}" is not an ISO date (e.g. 2026-12-07T08:00:00Z)`);
  return d;
}

/** Run the CLI; returns the exit code. Never calls process.exit, so tests can call it in-process. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`error USAGE: ${(err as Error).message}\n`);
    io.err(USAGE);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const command = positionals[0] ?? 'help';
  if (v.help || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command !== 'analyze' && positionals.length > 1) {
    io.err(`error USAGE: "${command}" takes no arguments (got ${positionals.slice(1).join(' ')})\n`);
    io.err(USAGE);
    return 2;
  }
  const at = (p: string | undefined, dflt: string) => path.resolve(io.cwd, p ?? dflt);
  const quiet = Boolean(v.quiet);
  const progress: Progress = (stage, detail, ms) => {
    if (!quiet) io.out(`${stage.padEnd(8)} ${detail} (${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`})`);
  };
  try {
    const opts: RunOptions = {
      sourcesDir: at(v.sources, 'sources'),
      digestsDir: at(v.digests, 'digests'),
      siteDir: at(v.site, '_site'),
      outboxDir: at(v.outbox, 'outbox'),
      now: parseNow(v.now ?? io.env.DIGEST_NOW),
      dryRun: Boolean(v['dry-run']),
      force: Boolean(v.force),
      env: io.env,
      progress,
      log: (line) => {
        if (!quiet) io.out(line);
      },
    };
    const finish = async (report: RunReport): Promise<number> => {
      for (const line of problemLines(report.problems)) io.err(line);
      io.out(summaryLine(report));
      if (report.issue && !quiet) io.out(`issue=${report.issue.id}`);
      if (v.report) await writeFileAtomic(path.resolve(io.cwd, v.report), `${JSON.stringify(report, null, 2)}\n`);
      if (v.summary) await appendFile(path.resolve(io.cwd, v.summary), summaryMarkdown(report));
      return report.ok ? 0 : 1;
    };
    switch (command) {
      case 'run':
        return await finish(await run(opts));
      case 'make':
        return await finish((await makeIssue(opts)).report);
      case 'site': {
        const pages = await buildArchive(opts);
        io.out(`${opts.dryRun ? 'dry run ' : ''}done: ${pages} pages in ${opts.siteDir}`);
        return 0;
      }
      case 'send': {
        const sent = await sendIssue({ ...opts, issueId: v.issue, to: v.to, resendUnknown: Boolean(v['resend-unknown']) });
        for (const line of problemLines(sent.problems)) io.err(line);
        const d = sent.delivery;
        io.out(v.to
          ? `${opts.dryRun ? 'dry run ' : ''}done: test copy of ${sent.digest.id} ${opts.dryRun ? 'not sent' : 'sent'} (ledger untouched)`
          : `${opts.dryRun ? 'dry run ' : ''}${d && d.failed ? 'failed' : 'done'}: issue ${sent.digest.id} · ${d?.written ?? 0} written, ${d?.sent ?? 0} sent, ${d?.skipped ?? 0} already done, ${d?.failed ?? 0} failed, ${d?.unknown ?? 0} unknown, ${d?.deferred ?? 0} deferred`);
        return deliveryIncomplete(d) ? 1 : 0;
      }
      case 'analyze':
        return await analyzeCommand(positionals.slice(1), opts.sourcesDir, Boolean(v.json), io);
      case 'preview':
        return await preview(opts, v.port ?? '8080', io);
      case 'serve':
        return await serve(opts, v.host ?? '127.0.0.1', v.port ?? '8787', io);
      default:
        throw usageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof DigestError) {
      io.err(err.format());
      if (err.exitCode === 2) io.err(err.code === 'USAGE' ? `\n${USAGE}` : '\n(usage: `digest help`)');
      return err.exitCode;
    }
    io.err(`error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}

async function analyzeCommand(files: string[], sourcesDir: string, json: boolean, io: Io): Promise<number> {
  if (files.length === 0) throw usageError('analyze needs at least one file');
  const config = await readConfig(sourcesDir);
  const items = [];
  // Offsets in the JSON index the file as it is on disk, front matter included, so any tool can check a quote
  // with file.slice(start, end). (For .html the text is that of the sanitized HTML: no shift applies.)
  const shift = new Map<string, number>();
  for (const file of files) {
    let contents: string;
    try {
      contents = await readFile(path.resolve(io.cwd, file), 'utf8');
    } catch (err) {
      throw new DigestError('FILE_UNREADABLE', (err as Error).message, { origin: file, hint: 'check the path' });
    }
    const { item, problems, textOffset } = parseDroppedFile(contents, file);
    for (const line of problemLines(problems)) io.err(line);
    if (item) {
      items.push(item);
      shift.set(item.origin, textOffset ?? 0);
    }
  }
  const analysis = analyze(items, { themes: config.themes, speakers: config.speakers, analyze: config.analyze });
  // (The editor's pairs from settings.yaml apply here too; one with a side outside these files says so.)
  for (const line of problemLines(analysis.problems ?? [])) io.err(line);
  const result = analysisToJson(analysis);
  const moved = <T extends { source: string; start: number; end: number }>(x: T): T => {
    const by = shift.get(x.source) ?? 0;
    return { ...x, start: x.start + by, end: x.end + by };
  };
  result.quotes = result.quotes.map((q) => ({ ...moved(q), citations: q.citations.map(moved) }));
  result.counterpoints = result.counterpoints.map(moved);
  if (json) io.out(JSON.stringify(result, null, 2));
  else {
    for (const q of result.quotes) io.out(`${q.speaker ?? '(unattributed)'} [${q.themes.join(', ')}] ${q.source}:${q.start}-${q.end}\n  “${q.text}”`);
    io.out(`${result.quotes.length} quotes, ${result.counterpoints.length} counterpoints`);
  }
  return 0;
}

function portNumber(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port "${raw}" is not a port number`);
  return port;
}

/** Until SIGINT/SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

async function serve(opts: RunOptions, host: string, portArg: string, io: Io): Promise<number> {
  const { startServer, databasePathFrom } = await import('./serve/server.js');
  const config = await readConfig(opts.sourcesDir, opts.env);
  const server = await startServer({ host, port: portNumber(portArg), config, env: opts.env, databasePath: databasePathFrom(opts.env), log: (line) => io.out(line) });
  io.out(`serve: subscription service on ${server.url} · POST /subscribe, /confirm, /unsubscribe · Ctrl-C to stop`);
  await untilSignal();
  await server.close();
  return 0;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json',
  '.xml': 'application/xml', '.png': 'image/png', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8',
};

/** Serve _site/ under its base path, and the latest email at /_email/ (HTML) and /_email/text. */
async function preview(opts: RunOptions, portArg: string, io: Io): Promise<number> {
  const config = await readConfig(opts.sourcesDir, opts.env);
  const latest = (await readRecords(opts.digestsDir)).at(-1);
  // Filled in once the port is known: the preview's unsubscribe link points back at this server.
  let email: { html: string; text: string } | null = null;
  const base = config.site.basePath;
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/_email/unsubscribe') {
      return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('Preview: in a sent email this link unsubscribes the reader (see `digest serve`).');
    }
    if (url.pathname.startsWith('/_email')) {
      if (!email) return void res.writeHead(404).end('no issue yet: run `digest run` first');
      const text = url.pathname.endsWith('/text');
      res.writeHead(200, { 'content-type': text ? 'text/plain; charset=utf-8' : 'text/html; charset=utf-8' });
      return void res.end(text ? email.text : email.html);
    }
    if (url.pathname === '/' && base !== '/') return void res.writeHead(302, { location: base }).end();
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname.slice(1));
    } catch {
      return void res.writeHead(400).end('bad request');
    }
    const root = path.resolve(opts.siteDir);
    let file = path.resolve(root, rel);
    if (file !== root && !file.startsWith(root + path.sep)) return void res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      const notFound = await readFile(path.join(opts.siteDir, '404.html')).catch(() => Buffer.from('not found'));
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(notFound);
    }
  });
  const port = portNumber(portArg);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  if (latest) {
    const rendered = await renderEmail(latest, config, { webUrl: issueUrl(config, latest.id), archiveUrl: issueUrl(config, '') });
    email = personalize(rendered, { unsubscribeUrl: `http://127.0.0.1:${actual}/_email/unsubscribe` });
  }
  io.out(`preview: archive http://127.0.0.1:${actual}${base} · email http://127.0.0.1:${actual}/_email/ (text: /_email/text) · Ctrl-C to stop`);
  await untilSignal();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
