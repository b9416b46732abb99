import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

// The workflow's own steps, run as a manual dry run and then twice for the same week against a local git
// remote and a real SMTP server (scripts/rehearse.ts): the dry run must leave no trace, each test subscriber
// must hold exactly one message, and no address may be printed.
describe('npm run rehearse', () => {
  it('a dry run leaves no trace; then each subscriber gets exactly one message over two runs of the same week, printing no address', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'scripts/rehearse.ts'], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024, timeout: 300_000, env: { ...process.env, CI: 'true' } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    });
    expect(r.code, r.out).toBe(0);
    // A manual dry run first: it must leave no trace, so the first scheduled run makes the issue itself.
    expect(r.out).toMatch(/^dry run: workflow_dispatch with dry_run = true/m);
    expect(r.out).toMatch(/^  dry run left no trace: remote unchanged/m);
    expect(r.out).toMatch(/^  job deploy: skipped/m);
    expect(r.out).toMatch(/^  the scheduled run made the issue afresh: digests\/\d{4}-\d\d-\d\d-1\.json$/m);
    expect(r.out).not.toMatch(/✗/);
    expect(r.out).toMatch(/^run 1 of 2/m);
    expect(r.out).toMatch(/^run 2 of 2/m);
    expect(r.out.match(/: 1 message$/gm)).toHaveLength(3);
    expect(r.out).toMatch(/3 already done/); // the second run resumed instead of sending again
    expect(r.out).not.toMatch(/rehearsal\.(ada|grace|alan)@example\.com/);
    expect(r.out).toMatch(/rehearse: ok/);
  }, 300_000);
});
