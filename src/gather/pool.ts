import { Worker } from 'node:worker_threads';
import { parseFeed, type ParseFeedOptions, type ParsedFeed } from './feeds.js';
import { rememberHashLength } from './ledger.js';

/**
 * Parsing (XML, then each item's HTML, then hashing) is CPU work that would otherwise run on the one thread
 * that also drives every HTTP connection. With many feeds, a few worker threads parse while the main thread
 * keeps fetching. The answer for a feed is the same whichever thread parsed it (the same parseFeed runs
 * there), and gather keeps results in the configured feed order, so which worker finishes first never
 * changes the output. If a worker cannot start or dies, its feeds are parsed on the main thread instead.
 */
export interface FeedParser {
  parse(xml: string, origin: string, opts: ParseFeedOptions): Promise<ParsedFeed>;
  close(): Promise<void>;
}

/** Parse on the calling thread. */
export const inlineParser: FeedParser = {
  parse: (xml, origin, opts) => parseFeed(xml, origin, opts),
  close: async () => {},
};

interface Pending {
  resolve: (p: ParsedFeed) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

/**
 * A worker costs ~0.6 s of CPU to start (tsx, rss-parser, sanitize-html), about what parsing 2,500 items
 * costs: so the pool is started once per process and kept for later gathers (the benchmark's repeated runs,
 * a long-lived `digest serve`). Idle workers are unref'd, so they never keep the process alive.
 */
let shared: { size: number; parser: FeedParser } | null = null;

/** How many feeds this process parsed in a worker, and how many fell back to the main thread (tests). */
export const parsePoolStats = { inWorker: 0, fallback: 0 };

/** The process's parse pool of `size` workers (started on first use; a different size replaces it). */
export function sharedParsePool(size: number): FeedParser {
  if (size <= 0) return inlineParser;
  if (shared && shared.size === size) return shared.parser;
  const old = shared;
  shared = { size, parser: startParsePool(size) };
  if (old) void old.parser.close();
  return shared.parser;
}

/** Stop the shared pool's workers (tests; a process that wants to exit at once). */
export async function closeParsePools(): Promise<void> {
  const old = shared;
  shared = null;
  if (old) await old.parser.close();
}

export function startParsePool(size: number): FeedParser {
  if (size <= 0) return inlineParser;
  let nextId = 0;
  const slots: Slot[] = [];
  for (let i = 0; i < size; i++) {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./parse-worker.mjs', import.meta.url), { execArgv: [] });
    } catch {
      continue;
    }
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), dead: false };
    const fail = (err: Error) => {
      if (slot.dead) return;
      slot.dead = true;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('message', (m: { id: number; parsed?: ParsedFeed; lengths?: number[]; error?: string }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      // Only a worker with work outstanding holds the process open.
      if (slot.pending.size === 0) worker.unref();
      if (m.parsed) {
        m.parsed.items.forEach((item, k) => {
          const n = m.lengths?.[k] ?? -1;
          if (n >= 0) rememberHashLength(item.contentHash, n);
        });
        parsePoolStats.inWorker++;
        p.resolve(m.parsed);
      } else p.reject(new Error(m.error ?? 'the parse worker gave no answer'));
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the parse worker exited (code ${code})`)));
    slots.push(slot);
  }
  if (slots.length === 0) return inlineParser;

  return {
    async parse(xml, origin, opts) {
      // The least busy live worker; ties go to the first, which keeps the assignment itself deterministic.
      let slot: Slot | undefined;
      for (const s of slots) if (!s.dead && (slot === undefined || s.pending.size < slot.pending.size)) slot = s;
      if (!slot) {
        parsePoolStats.fallback++;
        return parseFeed(xml, origin, opts);
      }
      const id = nextId++;
      const chosen = slot;
      try {
        return await new Promise<ParsedFeed>((resolve, reject) => {
          chosen.pending.set(id, { resolve, reject });
          chosen.worker.ref();
          chosen.worker.postMessage({ id, xml, origin, opts });
        });
      } catch {
        // A worker that crashed or could not load: this feed is parsed here, as it would be without a pool.
        parsePoolStats.fallback++;
        return parseFeed(xml, origin, opts);
      }
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
    },
  };
}
