/**
 * The send ledger: `<ledgerDir>/sends/<issueId>.jsonl`, one SendRecord per line, append-only, each line
 * fsync'd before we go on. It is what makes a rerun after a crash send each recipient exactly once: the last
 * line for a recipient says where they stand. Recipients are hashes, never addresses (the folder is in git).
 */
import { openSync, writeSync, fsyncSync, fsync, closeSync, readFileSync, mkdirSync, ftruncateSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { SendRecord, SendState } from '../model.js';
import { DigestError } from '../errors.js';

const STATES: readonly SendState[] = ['attempting', 'sent', 'failed', 'unknown', 'deferred'];

export function ledgerPath(ledgerDir: string, issueId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(issueId) || issueId.startsWith('.')) {
    throw new DigestError('ISSUE_NOT_FOUND', `issue id "${issueId}" is not a safe file name`, { origin: ledgerDir, hint: 'issue ids look like 2026-11-30-3' });
  }
  return path.join(ledgerDir, 'sends', `${issueId}.jsonl`);
}

/**
 * Parse a ledger. A final line without its newline is a write torn by a crash: ignored (the caller truncates
 * it before appending). Any other bad line is corruption and stops the run: guessing could double-send.
 */
export function parseLedger(text: string, origin: string): { records: SendRecord[]; validBytes: number } {
  const records: SendRecord[] = [];
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = complete.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: SendRecord;
    try {
      rec = JSON.parse(line) as SendRecord;
    } catch (err) {
      throw new DigestError('LEDGER_CORRUPT', `line ${i + 1} is not JSON`, { origin: `${origin}:${i + 1}`, hint: 'restore the file from git; never edit a send ledger by hand', cause: err });
    }
    if (typeof rec !== 'object' || rec === null || typeof rec.recipient !== 'string' || !STATES.includes(rec.state)) {
      throw new DigestError('LEDGER_CORRUPT', `line ${i + 1} is not a send record`, { origin: `${origin}:${i + 1}`, hint: 'restore the file from git; never edit a send ledger by hand' });
    }
    records.push(rec);
  });
  return { records, validBytes: Buffer.byteLength(complete, 'utf8') };
}

/**
 * When a line must be on disk (fsync'd) before deliver() goes on:
 *   commit      before the end-of-data dot that follows an "attempting" line (and before the next append
 *               resolves): exactly once even across a power loss; each message waits ~one fsync.
 *   background  written (write(2)) before the dot, fsync'd right after, back to back; flushed at the end of
 *               the run. Exactly once across process crashes; a power loss may lose the last ~fsync's worth
 *               of lines (send.ts, deliver(), says when that matters).
 */
export type LedgerSync = 'commit' | 'background';

export class SendLedger {
  private fd: number | null = null;
  private readonly latest = new Map<string, SendRecord>();

  private constructor(readonly file: string, records: SendRecord[]) {
    for (const r of records) this.latest.set(r.recipient, r);
  }

  /** Open (creating the folder) and read what earlier runs recorded. Synchronous I/O: lines must be durable in order. */
  static open(ledgerDir: string, issueId: string): SendLedger {
    const file = ledgerPath(ledgerDir, issueId);
    mkdirSync(path.dirname(file), { recursive: true });
    let records: SendRecord[] = [];
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const parsed = parseLedger(text, file);
      records = parsed.records;
      if (parsed.validBytes !== Buffer.byteLength(text, 'utf8')) {
        // Cut the torn tail so the next line starts on a line of its own.
        const fd = openSync(file, 'r+');
        ftruncateSync(fd, parsed.validBytes);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    return new SendLedger(file, records);
  }

  /** Read-only view, no file created (for reports and tests). */
  static read(ledgerDir: string, issueId: string): SendRecord[] {
    const file = ledgerPath(ledgerDir, issueId);
    return existsSync(file) ? parseLedger(readFileSync(file, 'utf8'), file).records : [];
  }

  last(recipient: string): SendRecord | undefined {
    return this.latest.get(recipient);
  }

  private written = 0;
  private synced = 0;
  private inflight: Promise<void> | null = null;
  private syncError: unknown = null;
  /** 'commit' (default for direct use): append() resolves once its line is fsync'd. 'background': see open(). */
  sync: LedgerSync = 'commit';

  /**
   * Append one record. The write is synchronous, so lines keep their order and are in the kernel the moment
   * this returns: a killed process (SIGKILL, OOM, a cancelled job) cannot lose them. The fsync, which only
   * adds survival of a power loss or kernel crash, is shared by every append made while one is running
   * (group commit). With sync 'commit' the promise resolves once the line is fsync'd; with 'background' it
   * resolves at once and fsyncs keep running back to back while lines are unsynced (flush() waits for them).
   */
  async append(rec: SendRecord): Promise<void> {
    if (this.syncError) throw this.syncError;
    if (this.fd === null) {
      const existed = existsSync(this.file);
      this.fd = openSync(this.file, 'a');
      if (!existed) {
        // A new file's directory entry must be durable too.
        const dfd = openSync(path.dirname(this.file), 'r');
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      }
    }
    writeSync(this.fd, JSON.stringify(rec) + '\n');
    this.latest.set(rec.recipient, rec);
    const want = ++this.written;
    if (this.sync === 'background') {
      this.startSync();
      return;
    }
    while (this.synced < want) {
      this.startSync();
      await this.inflight;
      if (this.syncError) throw this.syncError;
    }
  }

  /** Start an fsync covering every line written so far, unless one is running (it restarts itself after). */
  private startSync(): void {
    if (this.inflight || this.fd === null || this.synced >= this.written) return;
    const upto = this.written;
    const fd = this.fd;
    this.inflight = new Promise<void>((resolve) =>
      fsync(fd, (err) => {
        this.inflight = null;
        if (err) this.syncError ??= err;
        else this.synced = Math.max(this.synced, upto);
        resolve();
        // Lines written meanwhile: the next fsync starts at once (their appends may be waiting on it).
        if (!err && this.sync === 'background') this.startSync();
      }),
    );
  }

  /** Resolves once every line appended so far is fsync'd; throws if an fsync failed. */
  async flush(): Promise<void> {
    while (!this.syncError && this.synced < this.written) {
      this.startSync();
      await this.inflight;
    }
    if (this.syncError) throw this.syncError;
  }

  /** Close the file, fsyncing what is not yet (a run that stops on an error still leaves a durable ledger). */
  close(): void {
    if (this.fd !== null) {
      try {
        if (this.synced < this.written && !this.syncError) fsyncSync(this.fd);
      } finally {
        closeSync(this.fd);
      }
    }
    this.fd = null;
  }
}
