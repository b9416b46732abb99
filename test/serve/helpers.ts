import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ANALYZE, DEFAULT_EMAIL, DEFAULT_GATHER, DEFAULT_SITE } from '../../src/config.js';
import type { Config } from '../../src/model.js';

export const SECRET = 'test-secret-for-serve-0123456789abcdef';
export const EXPORT_TOKEN = 'export-token-for-tests-0123456789';

export function testConfig(site: Partial<Config['site']> = {}, email: Partial<Config['email']> = {}): Config {
  return {
    site: { ...DEFAULT_SITE, url: 'https://archive.example.org', ...site },
    email: { ...DEFAULT_EMAIL, from: 'Debate Digest <digest@example.org>', listId: 'debate-digest.example.org', ...email },
    feeds: [],
    themes: [],
    speakers: [],
    gather: DEFAULT_GATHER,
    analyze: DEFAULT_ANALYZE,
  };
}

export async function tempDb(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dd-serve-'));
  return path.join(dir, 'subscribers.db');
}

/** A controllable clock. */
export function clock(start = '2026-11-30T09:00:00Z') {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export async function post(url: string, body: string | Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const isJson = typeof body !== 'string';
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': isJson ? 'application/json' : 'application/x-www-form-urlencoded', ...headers },
    body: isJson ? JSON.stringify(body) : body,
    redirect: 'manual',
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Wait until `check` returns a value (polling), or fail after `ms`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
