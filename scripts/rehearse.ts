/**
 * `npm run rehearse`: run .github/workflows/digest.yml's jobs and steps, in order, on this machine. It uses
 * a temporary clone, a local bare git remote standing in for GitHub and a real SMTP server on 127.0.0.1
 * standing in for the mail relay, and it prints what each step did.
 *
 * It first runs the workflow by hand as a dry run (dry_run = true, send = all), which must leave no trace: no
 * commit on the remote, no job past make, no message, only the preview artifact. It then runs the scheduled
 * workflow twice for the same week, as GitHub does when a schedule fires late and then again: the first run
 * must make the issue afresh. It then checks that every test subscriber holds exactly one message and that no
 * subscriber address appeared in any output. Exit 0 when all of this holds.
 *
 * `run:` steps run as written, with bash -eo pipefail. `uses:` steps, which are GitHub's own actions, are
 * emulated: checkout clones the local remote, setup-node is skipped (this machine has Node), and the Pages
 * and artifact actions report what they would upload. `npm ci` reuses this project's node_modules.
 *
 * Options: --runs <n> (default 2), --keep (leave the temp dir), --now <ISO> (default: now; one week for all runs).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { parse } from 'yaml';
import { evaluate, interpolate, type Contexts } from './rehearse/expressions.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const WORKFLOW = path.join(ROOT, '.github/workflows/digest.yml');
const SUBSCRIBERS = ['rehearsal.ada@example.com', 'rehearsal.grace@example.com', 'rehearsal.alan@example.com'];

interface Step { name?: string; id?: string; uses?: string; run?: string; env?: Record<string, unknown>; with?: Record<string, unknown>; if?: string }
interface Job { needs?: string | string[]; if?: string; outputs?: Record<string, string>; steps: Step[] }

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '2' }, keep: { type: 'boolean' }, now: { type: 'string' } } });
const out: string[] = [];
/** Values hidden by ::add-mask::, as GitHub's runner hides them. */
const masks = new Set<string>();
/** What actions/upload-artifact was given in the current run: artifact name → folder. */
const artifacts = new Map<string, string>();

/** How a run was started: the schedule (no inputs) or by hand with the given inputs. */
interface Trigger { event: 'schedule' | 'workflow_dispatch'; inputs: Record<string, unknown> }

function runStep(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code) => resolve({ status: code ?? 1, output }));
  });
}
const say = (line: string) => {
  out.push(line);
  process.stdout.write(`${line}\n`);
};
const git = (cwd: string, ...a: string[]) => execFileSync('git', a, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Jobs in an order that respects `needs`. */
function ordered(jobs: Record<string, Job>): string[] {
  const done: string[] = [];
  const visit = (name: string) => {
    if (done.includes(name)) return;
    const needs = jobs[name]?.needs;
    for (const n of Array.isArray(needs) ? needs : needs ? [needs] : []) visit(n);
    done.push(name);
  };
  Object.keys(jobs).forEach(visit);
  return done;
}

async function main(): Promise<number> {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, Job> };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dd-rehearse-'));
  const now = args.now ?? new Date().toISOString();
  say(`rehearse: ${path.relative(ROOT, WORKFLOW)} in ${tmp}, the week of ${now.slice(0, 10)}`);

  // The local "GitHub": a bare remote made from this repository's committed HEAD.
  let branch = git(ROOT, 'rev-parse', '--abbrev-ref', 'HEAD');
  git(tmp, 'clone', '--quiet', '--bare', ROOT, 'remote.git');
  const remote = path.join(tmp, 'remote.git');
  if (branch === 'HEAD') {
    // A detached checkout (some CI systems): give the rehearsal a branch to push to.
    branch = 'rehearsal';
    git(remote, 'branch', branch, git(ROOT, 'rev-parse', 'HEAD'));
    git(remote, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`);
  }
  say(`  remote: bare clone of ${branch}@${git(ROOT, 'rev-parse', '--short', 'HEAD')} (committed work only)`);

  // The local "mail relay": count what each address receives.
  const received = new Map<string, number>();
  const smtp = new SMTPServer({
    authOptional: true, hideSTARTTLS: true, disableReverseLookup: true, logger: false,
    onData(stream, session, cb) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        for (const r of session.envelope.rcptTo) received.set(r.address.toLowerCase(), (received.get(r.address.toLowerCase()) ?? 0) + 1);
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const port = (smtp.server.address() as { port: number }).port;
  say(`  mail relay: smtp-server on 127.0.0.1:${port}`);

  const secrets = {
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    SUBSCRIBERS: SUBSCRIBERS.join(','),
    UNSUBSCRIBE_SECRET: 'rehearsal-secret-not-for-production',
    DKIM_PRIVATE_KEY: '',
    TEST_RECIPIENT: 'rehearsal.test@example.com',
  };
  let failed = false;
  try {
    if (!(await rehearseDryRun(workflow.jobs, { tmp, remote, branch, now, secrets }, received))) failed = true;
    const runs = Number(args.runs);
    for (let run = 1; run <= runs; run++) {
      say(`\nrun ${run} of ${runs}: schedule event${run > 1 ? ' (a duplicate of the same week, as GitHub sometimes fires)' : ''}`);
      const records = recordsOn(remote, branch);
      const ok = await rehearseOnce(workflow.jobs, { tmp, remote, branch, run, now, secrets, trigger: { event: 'schedule', inputs: {} } });
      if (!ok) failed = true;
      if (run === 1) {
        // The dry run before must not have filled the week: the first scheduled run makes the issue itself.
        const made = recordsOn(remote, branch).filter((r) => !records.includes(r));
        if (made.length === 1) say(`  the scheduled run made the issue afresh: ${made[0]}`);
        else {
          failed = true;
          say(`  ✗ the first scheduled run made ${made.length} issue records (expected 1; the dry run must leave the week's slot free)`);
        }
      }
    }
  } finally {
    await new Promise<void>((r) => smtp.close(() => r()));
  }

  say('\nresult:');
  for (const address of SUBSCRIBERS) {
    const n = received.get(address) ?? 0;
    if (n !== 1) failed = true;
    say(`  ${address.replace(/^(.).*(@.*)$/, '$1***$2')}: ${n} ${n === 1 ? 'message' : 'messages'}${n === 1 ? '' : '  ✗ expected exactly one'}`);
  }
  const leaked = SUBSCRIBERS.filter((a) => out.some((line) => line.includes(a)));
  if (leaked.length) {
    failed = true;
    say(`  ✗ ${leaked.length} subscriber address(es) appeared in the output`);
  } else say('  no subscriber address appeared in any step output');
  say(failed ? 'rehearse: FAILED' : 'rehearse: ok (each subscriber got exactly one message)');
  if (!args.keep) rmSync(tmp, { recursive: true, force: true });
  return failed ? 1 : 0;
}

/** Issue records committed on the remote's branch. */
function recordsOn(remote: string, branch: string): string[] {
  const files = git(remote, 'ls-tree', '--name-only', `refs/heads/${branch}`, 'digests/');
  return files.split('\n').filter((f) => /^digests\/\d{4}-\d{2}-\d{2}-\d+\.json$/.test(f));
}

/**
 * A maintainer's manual dry run, with send = all to make it the worst case. It must change nothing anyone
 * else sees: the remote's branch stays where it was, deploy and send are skipped, no message reaches the
 * relay. It must still show something: the preview artifact holds the record, the pages and the email.
 */
async function rehearseDryRun(
  jobs: Record<string, Job>,
  ctx: { tmp: string; remote: string; branch: string; now: string; secrets: Record<string, string> },
  received: Map<string, number>,
): Promise<boolean> {
  say('\ndry run: workflow_dispatch with dry_run = true, send = all (must leave no trace)');
  const head = git(ctx.remote, 'rev-parse', `refs/heads/${ctx.branch}`);
  const messages = [...received.values()].reduce((a, b) => a + b, 0);
  artifacts.clear();
  const results: Record<string, string> = {};
  const ok = await rehearseOnce(jobs, { ...ctx, run: 0, trigger: { event: 'workflow_dispatch', inputs: { dry_run: true, send: 'all', force: false, issue: '' } } }, results);
  const problems: string[] = [];
  if (!ok) problems.push('the dry run failed');
  if (git(ctx.remote, 'rev-parse', `refs/heads/${ctx.branch}`) !== head) problems.push('it pushed a commit to the remote');
  for (const job of ['deploy', 'send']) if (results[job] !== 'skipped') problems.push(`job ${job} was not skipped`);
  if ([...received.values()].reduce((a, b) => a + b, 0) !== messages) problems.push('a message reached the mail relay');
  const preview = artifacts.get('digest-preview');
  const files = preview && existsSync(preview) ? readdirSync(preview, { recursive: true }).map(String) : [];
  const shows = [/^digests\/\d{4}-\d{2}-\d{2}-\d+\.json$/, /^site\/index\.html$/, /^outbox\/.*\.eml$/];
  for (const want of shows) if (!files.some((f) => want.test(f))) problems.push(`the digest-preview artifact has no ${want.source}`);
  for (const p of problems) say(`  ✗ dry run: ${p}`);
  if (problems.length === 0) say(`  dry run left no trace: remote unchanged at ${head.slice(0, 7)}, deploy and send skipped, no message; preview artifact of ${files.length} files and folders`);
  return problems.length === 0;
}

async function rehearseOnce(
  jobs: Record<string, Job>,
  ctx: { tmp: string; remote: string; branch: string; run: number; now: string; secrets: Record<string, string>; trigger: Trigger },
  results: Record<string, string> = {},
): Promise<boolean> {
  const needs: Contexts['needs'] = {};
  for (const name of ordered(jobs)) {
    const job = jobs[name] as Job;
    const base: Contexts = {
      inputs: ctx.trigger.inputs, // a schedule event has none
      secrets: ctx.secrets,
      vars: {},
      github: { ref_name: ctx.branch, event_name: ctx.trigger.event },
      runner: { temp: '' },
      steps: {},
      needs,
      status: 'success',
    };
    // As on GitHub, a job whose needs did not all succeed is skipped (none of our jobs asks for always()).
    const needed = Array.isArray(job.needs) ? job.needs : job.needs ? [job.needs] : [];
    const unmet = needed.filter((n) => needs[n]?.result !== 'success');
    if (unmet.length) {
      say(`  job ${name}: skipped (needs ${unmet.join(', ')}: ${unmet.map((n) => needs[n]?.result ?? '?').join(', ')})`);
      needs[name] = { outputs: {}, result: 'skipped' };
      results[name] = 'skipped';
      continue;
    }
    if (job.if !== undefined && !evaluate(String(job.if), base)) {
      say(`  job ${name}: skipped (if: ${String(job.if).replace(/^\$\{\{\s*|\s*\}\}$/g, '')})`);
      needs[name] = { outputs: {}, result: 'skipped' };
      results[name] = 'skipped';
      continue;
    }
    const dir = path.join(ctx.tmp, `run${ctx.run}-${name}`);
    const temp = path.join(ctx.tmp, `run${ctx.run}-${name}-temp`);
    mkdirSync(temp, { recursive: true });
    const summary = path.join(temp, 'step-summary.md');
    writeFileSync(summary, '');
    base.runner.temp = temp;
    say(`  job ${name}:`);
    for (const step of job.steps) {
      const label = step.name ?? step.uses?.split('@')[0] ?? step.run?.split('\n')[0] ?? '?';
      if (step.if !== undefined && !evaluate(String(step.if), base)) {
        say(`    · ${label}: skipped`);
        continue;
      }
      const outputs: Record<string, string> = {};
      if (step.uses) {
        say(`    · ${label}: ${emulate(step, base, { dir, remote: ctx.remote, outputs })}`);
      } else if (step.run) {
        if (/^npm ci\b/.test(step.run.trim())) {
          if (!existsSync(path.join(dir, 'node_modules'))) symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
          say(`    · ${label}: using this project's node_modules`);
          continue;
        }
        const outputFile = path.join(temp, `output-${step.id ?? 'step'}`);
        writeFileSync(outputFile, '');
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', GITHUB_ACTIONS: 'true',
          GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summary, RUNNER_TEMP: temp, GITHUB_REF_NAME: ctx.branch,
          DIGEST_NOW: ctx.now, PUSH_BACKOFF: '0',
        };
        for (const [k, v] of Object.entries(step.env ?? {})) env[k] = interpolate(String(v ?? ''), base);
        // Asynchronous: the SMTP server standing in for the relay lives in this process and must keep answering.
        const r = await runStep(step.run, dir, env);
        say(`    · ${label}: exit ${r.status}`);
        for (const line of r.output.split('\n').filter(Boolean)) {
          // The runner consumes ::add-mask:: commands and hides those values from every later line of the log.
          const mask = /^::add-mask::(.*)$/.exec(line);
          if (mask?.[1]) masks.add(mask[1]);
          else say(`        ${[...masks].reduce((l, m) => l.split(m).join('***'), line)}`);
        }
        for (const line of readFileSync(outputFile, 'utf8').split('\n')) {
          const m = /^([\w-]+)=(.*)$/.exec(line);
          if (m) outputs[m[1] as string] = m[2] as string;
        }
        if (r.status !== 0) {
          base.status = 'failure';
          say(`    ✗ step failed: the job stops here`);
        }
      }
      if (step.id) base.steps[step.id] = { outputs };
      if (base.status === 'failure' && step.run && !String(step.if ?? '').includes('always()')) break;
    }
    const jobOutputs: Record<string, string> = {};
    for (const [k, expr] of Object.entries(job.outputs ?? {})) jobOutputs[k] = interpolate(expr, base);
    needs[name] = { outputs: jobOutputs, result: base.status };
    results[name] = base.status;
    if (base.status === 'failure') return false;
  }
  return true;
}

/** What GitHub's own actions would do, done locally. */
function emulate(step: Step, c: Contexts, job: { dir: string; remote: string; outputs: Record<string, string> }): string {
  const action = step.uses?.split('@')[0] ?? '';
  const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), c)]));
  switch (action) {
    case 'actions/checkout': {
      git(path.dirname(job.dir), 'clone', '--quiet', job.remote, job.dir);
      if (w.ref) git(job.dir, 'checkout', '--quiet', w.ref);
      return `cloned the local remote${w.ref ? ` at ${w.ref.slice(0, 7)}` : ''}`;
    }
    case 'actions/setup-node':
      return `skipped (using ${process.version})`;
    case 'actions/configure-pages':
      Object.assign(job.outputs, { base_url: 'https://rehearsal.example.github.io/debate-digest', base_path: '/debate-digest' });
      return 'base_url https://rehearsal.example.github.io/debate-digest';
    case 'actions/upload-pages-artifact': {
      const dir = path.join(job.dir, w.path ?? '_site');
      const files = existsSync(dir) ? readdirSync(dir, { recursive: true }).length : 0;
      return `would upload ${w.path ?? '_site'} (${files} files and folders)`;
    }
    case 'actions/upload-artifact': {
      const dir = path.resolve(job.dir, w.path ?? '.');
      const files = existsSync(dir) ? readdirSync(dir, { recursive: true }).length : 0;
      artifacts.set(w.name ?? 'artifact', dir);
      return `would upload ${dir} as artifact ${w.name ?? 'artifact'} (${files} files and folders)`;
    }
    case 'actions/deploy-pages':
      job.outputs.page_url = 'https://rehearsal.example.github.io/debate-digest/';
      return 'would deploy to https://rehearsal.example.github.io/debate-digest/';
    default:
      return `not emulated (${action})`;
  }
}

process.exitCode = await main();
