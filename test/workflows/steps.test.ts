// Runs the digest workflow's own shell steps the way a runner would (bash -eo pipefail, env filled from the
// step's `env:` block) with a stand-in `npx` that records its arguments, to check what the CLI is asked to
// do for each combination of inputs, and that failures fail the step.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolate, type Contexts } from '../../scripts/rehearse/expressions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workflow = parse(readFileSync(path.join(root, '.github/workflows/digest.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Array<{ name?: string; run?: string; env?: Record<string, string> }> }>;
};

const base = mkdtempSync(path.join(tmpdir(), 'workflow-steps-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const bin = path.join(base, 'bin');
mkdirSync(bin);
// The stand-in npx: records its argv (NUL-separated, one call per file line), prints what it is told to,
// exits with the status it is told to.
writeFileSync(
  path.join(bin, 'npx'),
  `#!/usr/bin/env bash
printf '%s\\0' "$@" >>"$FAKE_NPX_CALLS"
printf '\\n' >>"$FAKE_NPX_CALLS"
printf '%b' "\${FAKE_NPX_STDOUT:-}"
exit "\${FAKE_NPX_EXIT:-0}"
`,
);
chmodSync(path.join(bin, 'npx'), 0o755);

/** What a run was started with; booleans and choices arrive as GitHub renders them into strings. */
interface Trigger {
  event: 'schedule' | 'workflow_dispatch';
  inputs?: Partial<Record<'dry_run' | 'force' | 'send' | 'issue', string>>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  madeIssue?: string;
}

/**
 * Fills a step's `env:` as Actions would, with the same evaluator `npm run rehearse` uses (it refuses forms it
 * does not know, so a new expression in the workflow cannot slip past this test unevaluated). The make job is
 * taken to have made `t.madeIssue` (default 2026-11-30-1; '' for a week with nothing new).
 */
function evaluateEnv(env: Record<string, string>, t: Trigger, runnerTemp: string): Record<string, string> {
  const ctx: Contexts = {
    inputs: t.event === 'schedule' ? {} : (t.inputs ?? {}),
    secrets: t.secrets ?? {},
    vars: t.vars ?? {},
    github: { ref_name: 'main', event_name: t.event },
    runner: { temp: runnerTemp },
    steps: {},
    needs: {
      make: { outputs: { issue: t.madeIssue ?? '2026-11-30-1', sha: 'abc1234' }, result: 'success' },
      deploy: { outputs: { page_url: 'https://someone.github.io/debate-digest/' }, result: 'success' },
    },
    status: 'success',
  };
  return Object.fromEntries(Object.entries(env).map(([key, template]) => [key, interpolate(template, ctx)]));
}

interface StepRun {
  status: number | null;
  stdout: string;
  calls: string[][];
  summary: string;
  temp: string;
}

let runs = 0;
function runStep(job: string, name: string, t: Trigger, npx: { stdout?: string; exit?: number } = {}): StepRun {
  const step = workflow.jobs[job]?.steps.find((s) => s.name === name);
  if (!step?.run) throw new Error(`no run step "${name}" in job ${job}`);
  runs += 1;
  const temp = path.join(base, `run-${runs}`);
  mkdirSync(temp);
  const calls = path.join(temp, 'npx-calls');
  const summary = path.join(temp, 'summary.md');
  writeFileSync(calls, '');
  writeFileSync(summary, '');
  const script = path.join(temp, 'step.sh');
  writeFileSync(script, step.run);
  // `shell: bash` in the workflow's defaults runs `bash --noprofile --norc -eo pipefail {0}`.
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    cwd: temp,
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      RUNNER_TEMP: temp,
      GITHUB_STEP_SUMMARY: summary,
      FAKE_NPX_CALLS: calls,
      FAKE_NPX_STDOUT: npx.stdout ?? '',
      FAKE_NPX_EXIT: String(npx.exit ?? 0),
      ...evaluateEnv(step.env ?? {}, t, temp),
    },
  });
  const recorded = readFileSync(calls, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\0').slice(0, -1));
  return { status: r.status, stdout: r.stdout + r.stderr, calls: recorded, summary: readFileSync(summary, 'utf8'), temp };
}

describe('make step', () => {
  const make = (t: Trigger, npx?: { stdout?: string; exit?: number }) => runStep('make', 'Make the issue', t, npx);

  it('on schedule makes the issue with a report and a job summary, and keeps the output for commit-state', () => {
    const r = make({ event: 'schedule' }, { stdout: 'issue=2025-12-01-1\n' });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      ['--no-install', 'digest', 'make', '--report', `${r.temp}/digest-report.json`, '--summary', `${r.temp}/summary.md`],
    ]);
    expect(readFileSync(path.join(r.temp, 'digest-make.log'), 'utf8')).toBe('issue=2025-12-01-1\n');
    expect(r.summary).toBe('');
  });

  it('passes --force only when the force input is true', () => {
    expect(make({ event: 'workflow_dispatch', inputs: { force: 'true' } }).calls[0]).toContain('--force');
    expect(make({ event: 'workflow_dispatch', inputs: { force: 'false' } }).calls[0]).not.toContain('--force');
  });

  it('fails the step when digest fails, although its output goes through tee', () => {
    const r = make({ event: 'schedule' }, { stdout: 'partial\n', exit: 1 });
    expect(r.status).toBe(1);
  });

  it('makes nothing when resuming a given issue, and says so in the summary', () => {
    const r = make({ event: 'workflow_dispatch', inputs: { issue: '2025-11-24-2', send: 'all' } });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.summary).toContain('Resuming delivery of issue `2025-11-24-2`');
    expect(readFileSync(path.join(r.temp, 'digest-make.log'), 'utf8')).toBe('issue=2025-11-24-2\n');
  });

  it.each(['../../etc/passwd', '2025-11-24', 'x\n::add-mask::y', '2025-11-24-1 --force'])(
    'rejects the issue input %j before running anything',
    (issue) => {
      const r = make({ event: 'workflow_dispatch', inputs: { issue } });
      expect(r.status).toBe(2);
      expect(r.calls).toEqual([]);
      expect(r.stdout).toMatch(/^::error::issue input must look like/m);
      expect(r.stdout).not.toContain('etc/passwd');
    },
  );

  // A dry run must leave no lasting state: a committed preview record would fill the week's slot, and the
  // scheduled run would then send the preview instead of making the issue afresh.
  it('on a dry run builds the preview from a copy of digests/ outside the checkout, and hands commit-state no issue', () => {
    const r = make({ event: 'workflow_dispatch', inputs: { dry_run: 'true', send: 'all', force: 'false', issue: '' } }, { stdout: 'issue=2026-11-30-1\n' });
    expect(r.status).toBe(0);
    const preview = `${r.temp}/digest-preview`;
    expect(r.calls).toEqual([[
      '--no-install', 'digest', 'run', '--digests', `${preview}/digests`, '--site', `${preview}/site`, '--outbox', `${preview}/outbox`,
      '--report', `${preview}/report.json`, '--summary', `${r.temp}/summary.md`,
    ]]);
    // Every path the CLI may write to lies in the preview folder; none is the checkout's digests/, _site/ or outbox/.
    for (const [i, arg] of r.calls[0]!.entries()) if (['--digests', '--site', '--outbox', '--report'].includes(r.calls[0]![i - 1] ?? '')) expect(arg.startsWith(`${preview}/`)).toBe(true);
    expect(readFileSync(path.join(r.temp, 'digest-make.log'), 'utf8')).toBe('');
    expect(r.summary).toMatch(/Dry run: a preview only.*digest-preview.*Nothing is committed, deployed or sent/);
  });

  it('on a dry run copies the committed records and ledgers into the preview, leaving digests/ as it was', () => {
    const t: Trigger = { event: 'workflow_dispatch', inputs: { dry_run: 'true', force: 'true' } };
    const step = workflow.jobs.make!.steps.find((s) => s.name === 'Make the issue')!;
    const cwd = mkdtempSync(path.join(base, 'checkout-'));
    mkdirSync(path.join(cwd, 'digests', 'sends'), { recursive: true });
    writeFileSync(path.join(cwd, 'digests', 'seen.json'), '{"version":1}\n');
    writeFileSync(path.join(cwd, 'digests', 'sends', '2026-11-23-1.jsonl'), '');
    const temp = mkdtempSync(path.join(base, 'temp-'));
    const calls = path.join(temp, 'npx-calls');
    writeFileSync(calls, '');
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
      cwd, encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, RUNNER_TEMP: temp, GITHUB_STEP_SUMMARY: path.join(temp, 'summary.md'), FAKE_NPX_CALLS: calls, ...evaluateEnv(step.env ?? {}, t, temp) },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path.join(temp, 'digest-preview', 'digests', 'seen.json'), 'utf8')).toBe('{"version":1}\n');
    expect(readFileSync(calls, 'utf8')).toContain('--force');
    expect(readFileSync(path.join(cwd, 'digests', 'seen.json'), 'utf8')).toBe('{"version":1}\n');
  });

  it('on a dry run ignores the issue input: it resumes nothing and names no issue', () => {
    const r = make({ event: 'workflow_dispatch', inputs: { dry_run: 'true', issue: '2025-11-24-2' } });
    expect(r.status).toBe(0);
    expect(r.calls[0]?.slice(0, 3)).toEqual(['--no-install', 'digest', 'run']);
    expect(readFileSync(path.join(r.temp, 'digest-make.log'), 'utf8')).toBe('');
    expect(r.summary).not.toContain('Resuming delivery');
    expect(r.summary).toContain('The issue input is ignored');
  });

  it('notes a dry run, and a run that sends nothing, in the summary', () => {
    expect(make({ event: 'workflow_dispatch', inputs: { dry_run: 'true', send: 'all' } }).summary).toMatch(/Dry run/);
    expect(make({ event: 'workflow_dispatch', inputs: { dry_run: 'false', send: 'none' } }).summary).toMatch(
      /send = none/,
    );
  });
});

describe('send step', () => {
  const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
  const secrets = {
    SMTP_URL: 'smtps://user:pw@127.0.0.1:465',
    SUBSCRIBERS: 'ann@example.test\r\nbob@example.test, cy@example.test\n',
    UNSUBSCRIBE_SECRET: 's3cret',
    DKIM_PRIVATE_KEY: key,
    TEST_RECIPIENT: 'editor@example.test',
  };
  const send = (t: Trigger, npx?: { stdout?: string; exit?: number }) => runStep('send', 'Send the issue', t, npx);

  it('on schedule sends this week\'s issue (made or resumed by the make job) to everyone, after masking every line of multi-line secrets', () => {
    const r = send({ event: 'schedule', secrets });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([['--no-install', 'digest', 'send', '--issue', '2026-11-30-1']]);
    const masks = r.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
    expect(masks).toEqual([
      '::add-mask::-----BEGIN PRIVATE KEY-----',
      '::add-mask::MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
      '::add-mask::BKcwggSjAgEAAoIBAQC7',
      '::add-mask::-----END PRIVATE KEY-----',
      '::add-mask::ann@example.test',
      '::add-mask::bob@example.test',
      '::add-mask::cy@example.test',
    ]);
    expect(r.summary).toBe('- Delivery (all): done\n');
  });

  it('sends only to TEST_RECIPIENT for send=test, and refuses without it', () => {
    const ok = send({ event: 'workflow_dispatch', inputs: { send: 'test' }, secrets });
    expect(ok.calls).toEqual([['--no-install', 'digest', 'send', '--issue', '2026-11-30-1', '--to', 'editor@example.test']]);
    const missing = send({ event: 'workflow_dispatch', inputs: { send: 'test' }, secrets: { ...secrets, TEST_RECIPIENT: '' } });
    expect(missing.status).toBe(2);
    expect(missing.calls).toEqual([]);
    expect(missing.stdout).toMatch(/^::error::send=test needs the TEST_RECIPIENT secret/m);
  });

  it('resumes a given issue', () => {
    const r = send({ event: 'workflow_dispatch', inputs: { send: 'all', issue: '2025-11-24-2' }, secrets });
    expect(r.calls).toEqual([['--no-install', 'digest', 'send', '--issue', '2025-11-24-2']]);
  });

  // The CLI would write to an outbox that vanishes with the runner, and the ledger would say it was sent.
  it('refuses to send without SMTP_URL', () => {
    const r = send({ event: 'schedule', secrets: { ...secrets, SMTP_URL: '' } });
    expect(r.status).toBe(2);
    expect(r.calls).toEqual([]);
    expect(r.stdout).toMatch(/^::error::send=all needs the SMTP_URL secret/m);
  });

  it('fails the step, and claims nothing in the summary, when the send fails', () => {
    const r = send({ event: 'schedule', secrets }, { exit: 1 });
    expect(r.status).toBe(1);
    expect(r.summary).toBe('');
  });

  it('never prints a secret itself', () => {
    const r = send({ event: 'workflow_dispatch', inputs: { send: 'test' }, secrets });
    const printed = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    for (const value of [secrets.SMTP_URL, secrets.UNSUBSCRIBE_SECRET, 'MIIEvQ', 'ann@example.test', 'editor@example.test']) {
      expect(printed.join('\n')).not.toContain(value);
    }
  });
});
