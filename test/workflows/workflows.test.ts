// The GitHub Actions workflows cannot run here, so they are checked twice: by actionlint (syntax, expressions,
// job graph, untrusted input in scripts) and by reading the YAML for the project's own rules (triggers,
// least-privilege permissions, pinned actions, inputs and secrets only through env).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lintWorkflowSource } from '../../scripts/actionlint.js';
import { evaluate, type Contexts } from '../../scripts/rehearse/expressions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workflowDir = path.join(root, '.github', 'workflows');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, Json>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string> | string;
  environment?: { name: string; url?: string } | string;
  container?: { image: string; options?: string } | string;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, Json>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

function readText(file: string): string {
  return readFileSync(path.join(workflowDir, file), 'utf8');
}

const files = ['digest.yml', 'ci.yml'] as const;
const text = Object.fromEntries(files.map((f) => [f, readText(f)])) as Record<(typeof files)[number], string>;
const docs = Object.fromEntries(files.map((f) => [f, parse(text[f]) as Workflow])) as Record<
  (typeof files)[number],
  Workflow
>;
const digest = docs['digest.yml'];
const ci = docs['ci.yml'];

function job(wf: Workflow, name: string): Job {
  const j = wf.jobs[name];
  if (!j) throw new Error(`no job ${name}`);
  return j;
}

function needsOf(j: Job): string[] {
  return j.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs];
}

/** Every string scalar in a parsed document, with its path (`jobs.send.steps.4.env.SMTP_URL`). */
function* strings(value: Json | object | undefined, at: string[] = []): Generator<[string, string]> {
  if (typeof value === 'string') yield [at.join('.'), value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v as Json, [...at, String(i)]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v as Json, [...at, k]);
}

function stepsOf(wf: Workflow): Array<{ job: string; step: Step }> {
  return Object.entries(wf.jobs).flatMap(([name, j]) => j.steps.map((step) => ({ job: name, step })));
}

function stepRunning(j: Job, pattern: RegExp): Step {
  const step = j.steps.find((s) => s.run !== undefined && pattern.test(s.run));
  if (!step) throw new Error(`no step runs ${pattern}`);
  return step;
}

describe('actionlint', () => {
  it.each(files)('finds nothing wrong in %s', async (file) => {
    expect(await lintWorkflowSource(text[file], file)).toEqual([]);
  });

  // A linter that never complains proves nothing: each broken copy must be caught, with the right rule.
  const broken: Array<{ what: string; from: string | RegExp; to: string; kind: string; message: RegExp }> = [
    { what: 'a job needing a job that does not exist', from: 'needs: make\n', to: 'needs: mkae\n', kind: 'job-needs', message: /mkae/ },
    {
      what: 'an untrusted value pasted into a script',
      from: 'run: npm ci --no-audit --no-fund',
      to: 'run: echo "${{ github.event.head_commit.message }}"',
      kind: 'expression',
      message: /potentially untrusted/,
    },
    { what: 'a misspelt input', from: '${{ inputs.force }}', to: '${{ inputs.forse }}', kind: 'expression', message: /forse/ },
    { what: 'an invalid cron', from: "cron: '17 6 * * 1'", to: "cron: '17 6 * *'", kind: 'events', message: /cron/i },
    { what: 'broken YAML', from: 'jobs:\n', to: 'jobs:\n  - [\n', kind: 'syntax-check', message: /yaml/i },
  ];
  it.each(broken)('reports $what', async ({ from, to, kind, message }) => {
    const copy = text['digest.yml'].replace(from, to);
    expect(copy).not.toBe(text['digest.yml']);
    const findings = await lintWorkflowSource(copy, 'broken.yml');
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.some((f) => f.kind === kind && message.test(f.message))).toBe(true);
    expect(findings.every((f) => f.file === 'broken.yml' && f.line > 0)).toBe(true);
  });
});

describe('digest.yml: triggers', () => {
  it('runs weekly on a schedule, with a comment on changing it and on cron being best effort', () => {
    const schedule = digest.on.schedule as Array<{ cron: string }>;
    expect(schedule).toHaveLength(1);
    const cron = schedule[0]!.cron.split(/\s+/);
    expect(cron).toHaveLength(5);
    // Weekly: a fixed minute and hour, any day of month and month, one day of the week.
    expect(cron[0]).toMatch(/^\d+$/);
    expect(cron[1]).toMatch(/^\d+$/);
    expect(cron.slice(2, 4)).toEqual(['*', '*']);
    expect(cron[4]).toMatch(/^[0-7]$/);
    const before = text['digest.yml'].slice(0, text['digest.yml'].indexOf('- cron:'));
    const comment = before.slice(before.indexOf('schedule:'));
    expect(comment).toMatch(/to change/i);
    expect(comment).toMatch(/best effort/i);
    expect(comment).toMatch(/UTC/);
  });

  it('takes the four manual inputs with their types', () => {
    const inputs = (digest.on.workflow_dispatch as { inputs: Record<string, Record<string, Json>> }).inputs;
    expect(Object.keys(inputs).sort()).toEqual(['dry_run', 'force', 'issue', 'send']);
    expect(inputs.dry_run).toMatchObject({ type: 'boolean', default: false });
    expect(inputs.force).toMatchObject({ type: 'boolean', default: false });
    expect(inputs.send).toMatchObject({ type: 'choice', options: ['none', 'test', 'all'] });
    expect(['none', 'test', 'all']).toContain(inputs.send!.default);
    expect(inputs.issue).toMatchObject({ type: 'string' });
    for (const input of Object.values(inputs)) expect(String(input.description ?? '')).not.toBe('');
  });

  it('runs one at a time and never cancels a run halfway', () => {
    expect(digest.concurrency).toBeDefined();
    expect(digest.concurrency!.group).toBeTruthy();
    expect(digest.concurrency!['cancel-in-progress']).toBe(false);
  });

  it('runs scripts with bash, so a failing command before a pipe fails the step', () => {
    expect(digest.defaults?.run?.shell).toBe('bash');
  });
});

describe('digest.yml: jobs', () => {
  const make = job(digest, 'make');
  const deploy = job(digest, 'deploy');
  const send = job(digest, 'send');

  it('has make → deploy → send', () => {
    expect(Object.keys(digest.jobs).sort()).toEqual(['deploy', 'make', 'send']);
    expect(needsOf(make)).toEqual([]);
    expect(needsOf(deploy)).toEqual(['make']);
    expect(needsOf(send)).toContain('deploy');
  });

  it('make: installs from the lock and makes the issue with a job summary, inputs only through env', () => {
    const uses = make.steps.map((s) => s.uses?.split('@')[0]);
    expect(uses).toContain('actions/checkout');
    expect(uses).toContain('actions/setup-node');
    expect(make.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toMatchObject({ cache: 'npm' });
    stepRunning(make, /^npm ci\b/);
    const step = stepRunning(make, /digest\b.*\bmake\b|\bmake\b.*digest/);
    expect(step.run).toMatch(/npx --no-install digest "\$\{args\[@\]\}"/);
    expect(step.run).toMatch(/args=\(make\b/);
    expect(step.run).toMatch(/--summary "\$GITHUB_STEP_SUMMARY"/);
    expect(step.run).toMatch(/--force/);
    expect(step.env).toMatchObject({ FORCE: '${{ inputs.force }}', RESUME_ISSUE: '${{ inputs.issue }}' });
  });

  it('make: commits the record and ledgers with commit-state.sh and outputs the issue id', () => {
    const commit = stepRunning(make, /scripts\/commit-state\.sh/);
    expect(commit.id).toBe('commit');
    expect(commit.run).toMatch(/\bdigests\b/);
    expect(make.outputs?.issue).toBe('${{ steps.commit.outputs.issue }}');
    expect(make.outputs?.sha).toBe('${{ steps.commit.outputs.sha }}');
    const script = path.join(root, 'scripts', 'commit-state.sh');
    expect(statSync(script).mode & 0o111).not.toBe(0);
  });

  it('deploy: builds the site and publishes it with the Pages actions', () => {
    const site = stepRunning(deploy, /npx --no-install digest site\b/);
    expect(site.env).toEqual({
      SITE_URL: '${{ steps.pages.outputs.base_url }}',
      SITE_PATH_PREFIX: '${{ steps.pages.outputs.base_path }}',
    });
    const uses = deploy.steps.flatMap((s) => (s.uses ? [s.uses.split('@')[0]] : []));
    expect(uses).toEqual([
      'actions/checkout',
      'actions/setup-node',
      'actions/configure-pages',
      'actions/upload-pages-artifact',
      'actions/deploy-pages',
    ]);
    expect(deploy.steps.find((s) => s.uses?.startsWith('actions/upload-pages-artifact@'))?.with).toEqual({
      path: '_site',
    });
    expect(deploy.environment).toMatchObject({ name: 'github-pages' });
    // The site is built from the commit make pushed.
    expect(deploy.steps[0]!.with).toMatchObject({ ref: '${{ needs.make.outputs.sha }}', 'persist-credentials': false });
  });

  it('send: skipped on a dry run or send=none, and sends to the test address for send=test', () => {
    expect(send.if).toMatch(/!\s*inputs\.dry_run/);
    expect(send.if).toMatch(/inputs\.send\s*!=\s*'none'/);
    // Nothing to send in a week with nothing new: never last week's issue to people who joined since.
    expect(send.if).toMatch(/needs\.make\.outputs\.issue\s*!=\s*''/);
    const step = stepRunning(send, /npx --no-install digest "\$\{args\[@\]\}"/);
    expect(step.run).toMatch(/args=\(send\)/);
    expect(step.run).toMatch(/--to "\$TEST_RECIPIENT"/);
    expect(step.run).toMatch(/--issue "\$ISSUE"/);
    expect(step.env).toMatchObject({
      SEND_MODE: "${{ inputs.send || 'all' }}",
      ISSUE: '${{ inputs.issue || needs.make.outputs.issue }}',
      TEST_RECIPIENT: '${{ secrets.TEST_RECIPIENT }}',
    });
    for (const name of ['SMTP_URL', 'SUBSCRIBERS', 'UNSUBSCRIBE_SECRET', 'DKIM_PRIVATE_KEY']) {
      expect(step.env?.[name]).toBe(`\${{ secrets.${name} }}`);
    }
    // Links in the email point at the archive the deploy job just published.
    expect(step.env?.SITE_URL).toBe('${{ needs.deploy.outputs.page_url }}');
    expect(job(digest, 'deploy').outputs?.page_url).toBe('${{ steps.deployment.outputs.page_url }}');
    expect(step.env?.DKIM_SELECTOR).toBe('${{ vars.DKIM_SELECTOR }}');
    expect(step.env?.DKIM_DOMAIN).toBe('${{ vars.DKIM_DOMAIN }}');
  });

  it('send: commits the send ledger even after a failed send, so the next run resumes', () => {
    const commit = stepRunning(send, /scripts\/commit-state\.sh/);
    expect(commit.run).toMatch(/digests\/sends/);
    expect(commit.if).toMatch(/always\(\)/);
    expect(send.steps.indexOf(commit)).toBe(send.steps.length - 1);
  });

  it('writes a job summary', () => {
    const runs = stepsOf(digest).flatMap(({ step }) => (step.run ? [step.run] : []));
    expect(runs.filter((r) => r.includes('$GITHUB_STEP_SUMMARY')).length).toBeGreaterThanOrEqual(3);
  });
});

describe('digest.yml: a dry run leaves no lasting state', () => {
  /**
   * The steps that would run for a trigger, following GitHub's rules: a job runs when every job it needs
   * succeeded and its `if` holds; a step when its `if` holds (the make job is taken to succeed and to have
   * made an issue, the worst case). Conditions go through the rehearsal's evaluator, which refuses what it
   * does not understand, so a new condition cannot slip past this test.
   */
  function reachable(event: 'schedule' | 'workflow_dispatch', inputs: Record<string, unknown>): Array<{ job: string; step: Step }> {
    const needs: Contexts['needs'] = {};
    const out: Array<{ job: string; step: Step }> = [];
    const ctx = (): Contexts => ({
      inputs: event === 'schedule' ? {} : inputs, secrets: {}, vars: {}, github: { ref_name: 'main', event_name: event },
      runner: { temp: '/tmp' }, steps: {}, needs, status: 'success',
    });
    for (const name of ['make', 'deploy', 'send']) {
      const j = job(digest, name);
      const runs = needsOf(j).every((n) => needs[n]?.result === 'success') && (j.if === undefined || Boolean(evaluate(j.if, ctx())));
      needs[name] = { result: runs ? 'success' : 'skipped', outputs: runs ? { issue: '2026-11-30-1', sha: 'abc1234', page_url: 'https://x.github.io/' } : {} };
      if (!runs) continue;
      for (const step of j.steps) if (step.if === undefined || evaluate(step.if, ctx())) out.push({ job: name, step });
    }
    return out;
  }
  /** Steps that leave state beyond the run: a commit or push, a Pages deploy, an email sent. */
  const lasting = (s: Step) =>
    /commit-state\.sh|\bgit\s+(commit|push)\b/.test(s.run ?? '') ||
    /^actions\/(deploy-pages|upload-pages-artifact)@/.test(s.uses ?? '') ||
    /\bargs=\(send\b|digest\s+send\b/.test(s.run ?? '');
  const names = (steps: Array<{ job: string; step: Step }>) => steps.map(({ job: j, step }) => `${j}: ${step.name ?? step.uses ?? step.run}`);

  it.each(['none', 'test', 'all'])('commits, deploys and sends nothing (send = %s)', (send) => {
    const steps = reachable('workflow_dispatch', { dry_run: true, send, force: false, issue: '' });
    expect(names(steps.filter(({ step }) => lasting(step)))).toEqual([]);
    expect(new Set(steps.map((s) => s.job))).toEqual(new Set(['make']));
    // It still shows something: the preview is uploaded as an artifact.
    const upload = steps.find(({ step }) => step.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.step.with).toMatchObject({ name: 'digest-preview', path: '${{ runner.temp }}/digest-preview' });
  });

  it('the check itself finds the lasting steps of a scheduled run, and of a manual run without dry_run', () => {
    const scheduled = names(reachable('schedule', {}).filter(({ step }) => lasting(step)));
    expect(scheduled).toEqual([
      'make: Commit the record and the seen ledger', 'deploy: actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa',
      'deploy: Deploy to Pages', 'send: Send the issue', 'send: Commit the send ledger',
    ]);
    expect(reachable('schedule', {}).some(({ step }) => step.uses?.startsWith('actions/upload-artifact@'))).toBe(false);
    expect(names(reachable('workflow_dispatch', { dry_run: false, send: 'all', force: false, issue: '' }).filter(({ step }) => lasting(step)))).toEqual(scheduled);
  });

  it('says why in the workflow: no commit, deploy or send on a dry run, and the next scheduled run makes the issue', () => {
    const header = text['digest.yml'].slice(0, text['digest.yml'].indexOf('\nname:'));
    expect(header).toMatch(/dry run/i);
    expect(header).toMatch(/nothing is\s+#?\s*committed/i);
    expect(header).toMatch(/scheduled run/i);
    const inputs = (digest.on.workflow_dispatch as { inputs: Record<string, Record<string, Json>> }).inputs;
    expect(String(inputs.dry_run!.description)).toMatch(/commit, publish and send nothing/);
  });
});

describe('permissions: least privilege', () => {
  it('is read-only at the top of both workflows', () => {
    for (const wf of [digest, ci]) expect(wf.permissions).toEqual({ contents: 'read' });
  });

  it('gives each digest job exactly what it needs', () => {
    expect(job(digest, 'make').permissions).toEqual({ contents: 'write' });
    expect(job(digest, 'deploy').permissions).toEqual({ contents: 'read', pages: 'write', 'id-token': 'write' });
    expect(job(digest, 'send').permissions).toEqual({ contents: 'write' });
  });

  it('lets only make and send write contents, and only deploy touch Pages or mint tokens', () => {
    for (const [file, wf] of Object.entries(docs)) {
      for (const [name, j] of Object.entries(wf.jobs)) {
        const where = `${file} ${name}`;
        expect(typeof j.permissions === 'string' ? j.permissions : 'map', where).toBe('map');
        const p = (j.permissions ?? {}) as Record<string, string>;
        const writes = Object.entries(p).filter(([, v]) => v === 'write').map(([k]) => k).sort();
        const allowed =
          file === 'digest.yml' && (name === 'make' || name === 'send')
            ? ['contents']
            : file === 'digest.yml' && name === 'deploy'
              ? ['id-token', 'pages']
              : [];
        expect(writes, where).toEqual(allowed);
      }
    }
  });
});

describe('supply chain and injection', () => {
  const all = files.flatMap((file) => stepsOf(docs[file]).map((s) => ({ file, ...s })));

  it('pins every action to a full commit SHA with a version comment', () => {
    const used = all.flatMap(({ step }) => (step.uses ? [step.uses] : []));
    expect(used.length).toBeGreaterThanOrEqual(8);
    const pins = new Map<string, string>();
    for (const uses of used) {
      if (uses.startsWith('./')) continue;
      expect(uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/);
      const [name, sha] = uses.split('@') as [string, string];
      // One version of an action across both files, so an update cannot miss a copy.
      expect(pins.get(name) ?? sha, name).toBe(sha);
      pins.set(name, sha);
    }
    for (const file of files) {
      for (const line of text[file].split('\n').filter((l) => /^\s*(-\s+)?uses:/.test(l))) {
        expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    }
  });

  it('has Dependabot keep the pinned actions current', () => {
    const config = parse(readFileSync(path.join(root, '.github', 'dependabot.yml'), 'utf8')) as {
      version: number;
      updates: Array<{ 'package-ecosystem': string; directory: string }>;
    };
    expect(config.version).toBe(2);
    expect(config.updates).toContainEqual(expect.objectContaining({ 'package-ecosystem': 'github-actions', directory: '/' }));
  });

  it('never puts inputs or secrets into a script as ${{ }}', () => {
    const forbidden = /\$\{\{\s*(inputs\.|github\.event\.inputs\.|secrets\.)/;
    const runs = all.flatMap(({ file, job: j, step }) => (step.run ? [{ where: `${file} ${j}`, run: step.run }] : []));
    expect(runs.length).toBeGreaterThan(5);
    for (const { where, run } of runs) expect(run, where).not.toMatch(forbidden);
    // No expressions at all in scripts: what a script needs comes in through env.
    for (const { where, run } of runs) expect(run, where).not.toContain('${{');
  });

  it('uses secrets only in the env of the send job', () => {
    let found = 0;
    for (const file of files) {
      for (const [at, value] of strings(docs[file] as unknown as Json)) {
        if (!/\bsecrets\b/.test(value) || !value.includes('${{')) continue;
        expect(at, `${file}: ${value}`).toMatch(/^jobs\.send\.steps\.\d+\.env\.[A-Z_]+$/);
        found += 1;
      }
    }
    expect(found).toBe(6); // SMTP_URL, SUBSCRIBERS, UNSUBSCRIBE_SECRET, DKIM_PRIVATE_KEY, TEST_RECIPIENT, EXPORT_TOKEN
    // The raw text agrees: no `secrets: inherit`, no secret in a key or anywhere the walk above cannot see.
    expect(text['ci.yml']).not.toMatch(/secrets\./);
    const secretLines = text['digest.yml'].split('\n').filter((l) => /secrets\./.test(l) && !/^\s*#/.test(l));
    expect(secretLines.length).toBe(found);
  });

  it('runs the repository’s own digest bin, never a registry package of that name', () => {
    for (const { step } of all) {
      for (const call of step.run?.match(/\bnpx\b[^\n]*/g) ?? []) expect(call).toMatch(/^npx --no-install digest\b/);
    }
  });
});

describe('ci.yml', () => {
  it('tests every push and pull request the way .ci/run does', () => {
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    const test = job(ci, 'test');
    expect(test.steps[0]!.uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    stepRunning(test, /^bash \.ci\/run$/);
    expect(test.container).toMatchObject({ image: expect.stringMatching(/^node:20-bookworm/) });
    const entry = readFileSync(path.join(root, '.ci', 'run'), 'utf8');
    expect(entry).toMatch(/apt-get install[^\n]*\bchromium\b[^\n]*\bpython3-feedparser\b[^\n]*\blibxml2-utils\b/);
    expect(entry).toMatch(/^npm test$/m);
  });
});
