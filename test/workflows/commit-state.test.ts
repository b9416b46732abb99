// scripts/commit-state.sh against real git repositories: a bare "origin" plus two clones, one playing the
// workflow's runner and one playing someone who pushes in between. No network: the remote is a directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/commit-state.sh');
const base = mkdtempSync(path.join(tmpdir(), 'commit-state-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

// Isolate from the machine's git config (identity, hooks, default branch) so the test sees what a runner sees.
const gitEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: base,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function write(dir: string, file: string, content: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), content);
}

/** Writes and pushes a commit from a clone, as a person would. */
function pushFrom(dir: string, file: string, content: string, message: string): void {
  write(dir, file, content);
  git(dir, 'add', file);
  git(dir, '-c', 'user.name=Someone', '-c', 'user.email=someone@example.test', 'commit', '-q', '-m', message);
  git(dir, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

function runScript(cwd: string, args: string[], env: Record<string, string> = {}): Run {
  const outFile = path.join(cwd, '..', `output-${path.basename(cwd)}`);
  const summaryFile = path.join(cwd, '..', `summary-${path.basename(cwd)}`);
  writeFileSync(outFile, '');
  writeFileSync(summaryFile, '');
  const r = spawnSync('bash', [script, ...args], {
    cwd,
    encoding: 'utf8',
    env: {
      ...gitEnv,
      BRANCH: 'main',
      PUSH_BACKOFF: '0',
      GITHUB_OUTPUT: outFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      ...env,
    },
  });
  const outputs = Object.fromEntries(
    readFileSync(outFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outputs, summary: readFileSync(summaryFile, 'utf8') };
}

let n = 0;
let origin = '';
let runner = '';
let other = '';

beforeEach(() => {
  n += 1;
  const dir = path.join(base, String(n));
  mkdirSync(dir);
  origin = path.join(dir, 'origin.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', origin);
  const seed = path.join(dir, 'seed');
  git(dir, 'clone', '-q', origin, seed);
  git(seed, 'checkout', '-q', '-b', 'main');
  pushFrom(seed, 'digests/seen.json', '{"seen":[]}\n', 'initial state');
  runner = path.join(dir, 'runner');
  other = path.join(dir, 'other');
  git(dir, 'clone', '-q', origin, runner);
  git(dir, 'clone', '-q', origin, other);
});

describe('commit-state.sh', () => {
  it('commits and pushes new state, naming the issue from the CLI output', () => {
    write(runner, 'digests/2025-12-01-1.json', '{"id":"2025-12-01-1"}\n');
    write(runner, 'digests/seen.json', '{"seen":["a"]}\n');
    const log = path.join(runner, '..', 'make.log');
    writeFileSync(log, 'gathering…\nissue=2025-12-01-1\n');
    const r = runScript(runner, ['Record the digest issue', 'digests'], { DIGEST_LOG: log });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.outputs).toEqual({ issue: '2025-12-01-1', committed: 'true', sha: git(runner, 'rev-parse', 'HEAD') });
    expect(git(origin, 'rev-parse', 'main')).toBe(r.outputs.sha);
    expect(git(origin, 'log', '-1', '--format=%s%n%an', 'main')).toBe(
      'Record the digest issue (2025-12-01-1)\ngithub-actions[bot]',
    );
    expect(git(origin, 'show', 'main:digests/2025-12-01-1.json')).toBe('{"id":"2025-12-01-1"}');
    expect(r.summary).toMatch(/State committed to `main`/);
  });

  it('rebases onto a commit pushed meanwhile and retries, also from a detached HEAD', () => {
    // The send job checks out the sha the make job pushed: a detached HEAD.
    git(runner, 'checkout', '-q', '--detach', 'HEAD');
    pushFrom(other, 'README.md', 'docs edit\n', 'someone edits the docs');
    write(runner, 'digests/sends/2025-12-01-1.jsonl', '{"to":"h1","status":"sent"}\n');
    const r = runScript(runner, ['Record deliveries', 'digests/sends']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/push rejected, rebasing on origin\/main and retrying \(attempt 2 of 5\)/);
    expect(r.outputs.committed).toBe('true');
    expect(r.outputs.issue).toBe('');
    // Both commits are on main, ours on top, nothing lost.
    expect(git(origin, 'log', '--format=%s', 'main').split('\n')).toEqual([
      'Record deliveries',
      'someone edits the docs',
      'initial state',
    ]);
    expect(git(origin, 'rev-parse', 'main')).toBe(r.outputs.sha);
  });

  it('commits nothing and still succeeds when the state did not change or a path is missing', () => {
    const before = git(origin, 'rev-parse', 'main');
    const log = path.join(runner, '..', 'make.log');
    writeFileSync(log, 'nothing new\n');
    const r = runScript(runner, ['Record deliveries', 'digests', 'digests/sends'], { DIGEST_LOG: log });
    expect(r.status).toBe(0);
    expect(r.outputs).toEqual({ issue: '', committed: 'false', sha: before });
    expect(git(origin, 'rev-parse', 'main')).toBe(before);
    expect(r.summary).toMatch(/nothing to commit/);
  });

  it('commits only the paths it is given', () => {
    write(runner, 'digests/seen.json', '{"seen":["b"]}\n');
    write(runner, 'src/stray.ts', 'export {};\n');
    const r = runScript(runner, ['Record', 'digests']);
    expect(r.status).toBe(0);
    expect(git(origin, 'show', '--name-only', '--format=', 'main')).toBe('digests/seen.json');
    expect(git(runner, 'status', '--porcelain')).toBe('?? src/');
  });

  it('takes only a well-formed issue id from the CLI output into $GITHUB_OUTPUT', () => {
    write(runner, 'digests/seen.json', '{"seen":["c"]}\n');
    const log = path.join(runner, '..', 'make.log');
    writeFileSync(log, 'issue=x y\nother=injected\nissue=../etc/passwd\n');
    const r = runScript(runner, ['Record', 'digests'], { DIGEST_LOG: log });
    expect(r.status).toBe(0);
    expect(r.outputs.issue).toBe('');
    expect(Object.keys(r.outputs).sort()).toEqual(['committed', 'issue', 'sha']);
  });

  it('gives up with a clear message when the same state file was changed meanwhile', () => {
    pushFrom(other, 'digests/seen.json', '{"seen":["theirs"]}\n', 'someone else records seen entries');
    const theirs = git(origin, 'rev-parse', 'main');
    write(runner, 'digests/seen.json', '{"seen":["ours"]}\n');
    const r = runScript(runner, ['Record', 'digests']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/rebase on origin\/main conflicted in: digests\/seen\.json/);
    expect(r.stderr).toMatch(/merge by hand/);
    expect(git(origin, 'rev-parse', 'main')).toBe(theirs);
    // The working copy is left clean of a half-done rebase.
    expect(git(runner, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  });

  it('stops after PUSH_ATTEMPTS when the push keeps failing', () => {
    write(runner, 'digests/seen.json', '{"seen":["d"]}\n');
    git(runner, 'remote', 'set-url', '--push', 'origin', path.join(base, 'no-such-remote.git'));
    const r = runScript(runner, ['Record', 'digests'], { PUSH_ATTEMPTS: '2' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/still rejected after 2 attempts/);
    expect(r.stderr).toMatch(/re-run the job/);
  });

  it('refuses wrong usage with exit 2', () => {
    expect(runScript(runner, ['only a message']).status).toBe(2);
    const noBranch = runScript(runner, ['Record', 'digests'], { BRANCH: '' });
    expect(noBranch.status).toBe(2);
    expect(noBranch.stderr).toMatch(/BRANCH/);
  });
});
