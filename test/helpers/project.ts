import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const SEEDS = path.resolve(ROOT, '../shared/seeds');
export const FEEDS = path.resolve(ROOT, '../shared/feeds/rss-parser');
const BIN = path.join(ROOT, 'src/bin.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `digest` command in a child process, as a user would. */
export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 240_000,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A temp project: the shipped config from sources/, plus the given dropped files. */
export async function tempProject(opts: { dropped?: Record<string, string>; seeds?: boolean; feedsYaml?: string } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dd-e2e-'));
  const sources = path.join(dir, 'sources');
  await mkdir(sources, { recursive: true });
  for (const f of ['themes.yaml', 'speakers.yaml', 'settings.yaml', 'subscribers.sample.csv'])
    await cp(path.join(ROOT, 'sources', f), path.join(sources, f));
  await writeFile(path.join(sources, 'feeds.yaml'), opts.feedsYaml ?? 'feeds: []\n');
  if (opts.seeds) {
    await mkdir(path.join(sources, 'seeds'));
    for (const f of await readdir(SEEDS)) await cp(path.join(SEEDS, f), path.join(sources, 'seeds', f));
  }
  for (const [name, text] of Object.entries(opts.dropped ?? {})) {
    await mkdir(path.dirname(path.join(sources, name)), { recursive: true });
    await writeFile(path.join(sources, name), text);
  }
  return dir;
}

/** A static HTTP server on 127.0.0.1 serving fixed bodies by path; unknown paths answer 500. */
export async function feedServer(routes: Record<string, { body: string | Buffer; type?: string }>): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) return void res.writeHead(500).end('broken on purpose');
    res.writeHead(200, { 'content-type': route.type ?? 'application/rss+xml; charset=utf-8' }).end(route.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

export async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

/** name → contents of every file under dir, to prove a failed run changed nothing. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listFiles(dir)) {
    try {
      out[f] = await readFile(path.join(dir, f), 'utf8');
    } catch {
      out[f] = '<dir>';
    }
  }
  return out;
}
