/**
 * Exactly once across a crash: delivery runs in a child process that is killed (SIGKILL) right after the
 * server has taken the k-th message, before the child can hear the 250 or write "sent". A rerun must send
 * everyone else once, resend nobody, and the ledger must agree with what the server holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderEmail } from '../../src/render/email.js';
import { SendLedger } from '../../src/deliver/ledger.js';
import { subscriberHash } from '../../src/deliver/subscribers.js';
import { loadDigest, startSink, testConfig, type Sink } from './smtp-sink.js';

const N = 100;
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
let sink: Sink;
let work: string;
let renderedPath: string;
const config = testConfig();
const digest = loadDigest('realistic');

beforeAll(async () => {
  sink = await startSink();
  work = mkdtempSync(path.join(tmpdir(), 'dd-crash-'));
  renderedPath = path.join(work, 'rendered.json');
  // Rendered once here: the child needs no MJML, which keeps each run short.
  const rendered = await renderEmail(digest, config, { webUrl: 'https://example.github.io/issues/x/', archiveUrl: 'https://example.github.io/' });
  writeFileSync(renderedPath, JSON.stringify(rendered));
});
afterAll(async () => {
  await sink.close();
  rmSync(work, { recursive: true, force: true });
});

function runChild(ledgerDir: string, killWhen: ((kill: () => void) => void) | null, connections = 1): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, sink.url(), ledgerDir, renderedPath, String(N)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CRASH_CONNECTIONS: String(connections) },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ code, signal, out, err }));
    if (killWhen) killWhen(() => p.kill('SIGKILL'));
  });
}

describe('crash in the middle of delivery', () => {
  for (const k of [0, 1, 50, 99]) {
    it(`killed after ${k} of ${N} accepted: the rerun completes with exactly one copy each`, async () => {
      sink.reset();
      const ledgerDir = path.join(work, `k${k}`);
      const first = await runChild(ledgerDir, (kill) => {
        if (k === 0) {
          // Before anything is accepted: at the very first RCPT TO.
          sink.behave.rcpt = (_to, n) => {
            if (n === 1 && sink.rcpts.length === 1) kill();
            return { kind: 'ok' };
          };
        } else {
          sink.behave.afterAccept = (total) => {
            if (total === k) kill();
          };
        }
      });
      expect(first.signal, first.err).toBe('SIGKILL');
      expect(sink.messages.length).toBe(k);
      sink.behave = {};

      const second = await runChild(ledgerDir, null);
      expect(second.code, second.err).toBe(0);

      const perRecipient = new Map<string, number>();
      for (const m of sink.messages) for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
      expect(perRecipient.size).toBe(N);
      expect([...perRecipient.values()].every((c) => c === 1)).toBe(true);

      // The ledger agrees with the server: every recipient is recorded sent, except at most the one message
      // in flight at the kill, which the server holds and the ledger honestly calls unknown.
      const last = new Map<string, string>();
      for (const r of SendLedger.read(ledgerDir, digest.id)) last.set(r.recipient, r.state);
      expect(last.size).toBe(N);
      const states = [...last.values()];
      expect(states.filter((s) => s !== 'sent' && s !== 'unknown')).toEqual([]);
      expect(states.filter((s) => s === 'unknown').length).toBeLessThanOrEqual(1);
      for (const to of perRecipient.keys()) expect(last.has(subscriberHash(config.email.listId, to))).toBe(true);
    });
  }

  it('with 5 connections in flight: never a duplicate; whoever is not sent is recorded unknown (at most 5)', async () => {
    sink.reset();
    const ledgerDir = path.join(work, 'pool5');
    const first = await runChild(ledgerDir, (kill) => {
      sink.behave.afterAccept = (total) => {
        if (total === 50) kill();
      };
    }, 5);
    expect(first.signal, first.err).toBe('SIGKILL');
    sink.behave = {};
    // The server may still complete messages whose end-of-data dot was in flight at the kill.
    await new Promise((r) => setTimeout(r, 300));
    const second = await runChild(ledgerDir, null, 5);
    expect(second.code, second.err).toBe(0);
    const perRecipient = new Map<string, number>();
    for (const m of sink.messages) for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
    expect([...perRecipient.values()].every((c) => c === 1)).toBe(true);
    const last = new Map<string, string>();
    for (const r of SendLedger.read(ledgerDir, digest.id)) last.set(r.recipient, r.state);
    expect(last.size).toBe(N);
    let unknown = 0;
    for (let i = 0; i < N; i++) {
      const to = `crash${i}@example.com`;
      const state = last.get(subscriberHash(config.email.listId, to));
      if (state === 'sent') expect(perRecipient.get(to), to).toBe(1);
      else {
        expect(state).toBe('unknown');
        unknown++;
      }
    }
    expect(unknown).toBeLessThanOrEqual(5);
    expect(perRecipient.size).toBeGreaterThanOrEqual(N - 5);
    console.log(`crash with 5 connections: ${N - unknown} sent, ${unknown} unknown (${[...perRecipient.keys()].length} received by the server)`);
  });
});
