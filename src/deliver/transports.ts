/**
 * Transports: small objects with one contract (test/deliver/transports.test.ts runs the same suite on each).
 *
 *   outbox  .eml files, one per recipient, named by issue + recipient hash (never the address): the default,
 *           the dry run of a real send.
 *   smtp    SMTP_URL set: a pool of nodemailer SMTPConnections sending pre-built raw messages.
 *   json    an in-memory sink (nodemailer's jsonTransport idea) for tests and the benchmark.
 *
 * Why our own small pool over nodemailer's SMTPConnection rather than createTransport({pool:true}): exactly-
 * once delivery needs to know whether the message could be complete at the server when a connection died
 * (then the server may hold it: "unknown", not resent) or not (safe to retry). A server takes a message only
 * at the end-of-data dot, which nodemailer writes when our raw stream ends; nodemailer's pooled transport
 * reads the message stream ahead into buffers, but with SMTPConnection the raw stream is piped only after the
 * server's 354, so we can send the whole body, call `onCommit`, and only then end the stream (the dot).
 */
import { Readable } from 'node:stream';
import { access, mkdir, writeFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { DigestError, redactUrl } from '../errors.js';

export interface OutgoingMessage {
  raw: Buffer | string;
  /**
   * The same message in SMTP DATA form, when the caller already has it: CRLF line ends, every line that
   * starts with "." given a second one (RFC 5321 4.5.2), no end-of-data dot. The smtp transport then sends
   * these bytes as they are (in order, as one stream: chunks save copying the 100 KB per recipient); without
   * it, it derives them from `raw` (dataBytes()). Other transports ignore it.
   */
  data?: readonly Buffer[];
  /** Envelope sender (bare address). */
  from: string;
  /** Envelope recipient (bare address, already validated). */
  to: string;
  /** `<local@domain>`; the outbox names its file after the local part (issue + recipient hash). */
  messageId: string;
  /**
   * Called at the commit point: after it, the far side may hold the message; before it, it cannot. SMTP: the
   * body has been sent, the end-of-data dot has not; outbox: the file is written under a temporary name, not
   * yet renamed. The transport waits for it to resolve; if it throws or rejects, the message is abandoned
   * (SMTP: the connection is dropped without the dot, and the server discards the partial message).
   */
  onCommit?: () => void | Promise<void>;
  /** Abort a send that takes too long: the SMTP connection is closed. */
  signal?: AbortSignal;
}

export interface Transport {
  name: 'outbox' | 'smtp' | 'json';
  send(msg: OutgoingMessage): Promise<{ accepted: boolean; response: string }>;
  /**
   * Whether the far side certainly holds this message, where that can be known (the outbox: its file
   * exists). A send interrupted after its commit point is then settled instead of left "unknown". SMTP cannot
   * be asked, so it has no such method.
   */
  holds?(messageId: string): Promise<boolean>;
  /** Check we can send at all (SMTP: connect and log in) before anyone is sent. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/** An error as nodemailer reports it: branch on responseCode (451 and 550 both arrive as EENVELOPE). */
export interface SendError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/**
 * A raw message in SMTP DATA form: bare CR or LF made CRLF, a leading "." on any line doubled (what
 * nodemailer's DataStream does byte by byte in JS, ~0.5 ms per 100 KB message). Native scans here: the
 * common message (CRLF already, no line starting with ".") is returned as is, without a copy.
 */
export function dataBytes(raw: Buffer | string): Buffer {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const s = buf.toString('latin1');
  const bare = /\r(?!\n)|(?<!\r)\n/.test(s);
  if (!bare && !s.startsWith('.') && !s.includes('\n.')) return buf;
  const crlf = bare ? s.replace(/\r\n|\r|\n/g, '\r\n') : s;
  return Buffer.from(crlf.replace(/(^|\n)\./g, '$1..'), 'latin1');
}

function bodyStream(chunks: readonly Buffer[], onCommit?: () => void | Promise<void>): Readable {
  let started = false;
  return new Readable({
    read() {
      if (started) return;
      started = true;
      // The whole body goes now; the end of the stream (which makes nodemailer write the end-of-data dot,
      // the only thing that lets the server accept the message) waits for the commit hook.
      for (const c of chunks) this.push(c);
      Promise.resolve()
        .then(() => onCommit?.())
        .then(
          () => this.push(null),
          (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
        );
    },
  });
}

// ───────────────────────────── outbox ─────────────────────────────

/** File name for a message: the Message-ID's local part (issue id + recipient hash), made path-safe. */
export function outboxFileName(messageId: string): string {
  const local = messageId.replace(/^<|>$/g, '').split('@')[0] ?? '';
  const safe = local.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '');
  if (!safe) throw new DigestError('RENDER_FAILED', 'message has no usable Message-ID for an outbox file name', { origin: 'outbox', hint: 'build messages with messageIdFor()' });
  return `${safe}.eml`;
}

export function createOutboxTransport(outboxDir: string): Transport {
  return {
    name: 'outbox',
    async send(msg) {
      const file = path.join(outboxDir, outboxFileName(msg.messageId));
      // Write then rename: a crash never leaves half a message that looks like a whole one. The rename is the
      // commit point, so the hook runs just before it (a failed write is then plainly not sent).
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, msg.raw);
      try {
        await msg.onCommit?.();
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      await rename(tmp, file);
      return { accepted: true, response: `250 written ${path.basename(file)}` };
    },
    async holds(messageId) {
      return access(path.join(outboxDir, outboxFileName(messageId))).then(() => true, () => false);
    },
    async verify() {
      await mkdir(outboxDir, { recursive: true });
    },
    async close() {},
  };
}

// ───────────────────────────── json (in-memory sink) ─────────────────────────────

export interface JsonTransport extends Transport {
  name: 'json';
  /** Messages sent, in order (raw kept unless `keepRaw` is false, for benchmarks). */
  messages: { from: string; to: string; messageId: string; raw: string | null; bytes: number }[];
}

export function createJsonTransport(opts: { keepRaw?: boolean } = {}): JsonTransport {
  const messages: JsonTransport['messages'] = [];
  return {
    name: 'json',
    messages,
    async send(msg) {
      await msg.onCommit?.();
      const raw = typeof msg.raw === 'string' ? msg.raw : msg.raw.toString('latin1');
      messages.push({ from: msg.from, to: msg.to, messageId: msg.messageId, raw: opts.keepRaw === false ? null : raw, bytes: raw.length });
      return { accepted: true, response: `250 queued as ${messages.length}` };
    },
    async verify() {},
    async close() {},
  };
}

// ───────────────────────────── smtp ─────────────────────────────

export interface SmtpOptions {
  /** Connections kept open at once. Default 5 (SMTP_POOL_SIZE). */
  maxConnections: number;
  /**
   * Messages per connection before it is renewed. Default 1000 (Exim's own default limit per session). Each
   * renewal costs the server's greeting delay (smtp-server waits 100 ms, postscreen-style servers seconds) during
   * which that connection's share of the sending stops: at nodemailer's 100, 10,000 recipients over 5
   * connections meant 20 pauses of ~104 ms per connection, a quarter of the whole delivery time on the bench.
   * A server that allows fewer says so with 421 (or closes the session) before the next message's data, and
   * send() then moves that message to a fresh connection (see `sessionEnded`).
   */
  maxMessagesPerConnection: number;
  rateLimitPerSecond: number;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  /** false: accept a TLS certificate that does not verify (overrides SMTP_URL's ?tls=insecure when set). */
  rejectUnauthorized?: boolean;
}

const DOT_CRLF = Buffer.from('.\r\n');
const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

type Corkable = NodeJS.WritableStream & { cork(): void; uncork(): void; destroyed?: boolean };

/**
 * The body of one message for a connection that takes DATA bytes as they are (sendPreparedData): what
 * nodemailer's send() sees as the message stream (it calls on/removeListener/destroy and pipe), without a
 * stream. pipe() writes the chunks to the socket in one corked writev, waits for the commit hook, and only
 * then writes the end-of-data dot; a hook that fails is reported as the stream's error (nodemailer then fails
 * the send, we drop the connection, and the server discards the message it never saw end).
 */
class PreparedBody {
  private readonly errorListeners = new Set<(err: Error) => void>();
  private destroyed = false;
  constructor(private readonly chunks: readonly Buffer[], private readonly onCommit?: () => void | Promise<void>) {}
  on(event: string, fn: (err: Error) => void): this {
    if (event === 'error') this.errorListeners.add(fn);
    return this;
  }
  removeListener(event: string, fn: (err: Error) => void): this {
    if (event === 'error') this.errorListeners.delete(fn);
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
  pipe(sink: PreparedDataSink): void {
    const socket = sink.socket;
    let bytes = 0;
    socket.cork();
    for (const c of this.chunks) {
      socket.write(c);
      bytes += c.length;
    }
    socket.uncork();
    const last = this.chunks.length ? this.chunks[this.chunks.length - 1]! : null;
    const end = last && last.length && last[last.length - 1] === 0x0a ? DOT_CRLF : CRLF_DOT_CRLF;
    Promise.resolve()
      .then(() => this.onCommit?.())
      .then(
        () => {
          // Closed meanwhile (timeout, error): no dot, the server must not take the message.
          if (this.destroyed || sink.closed || socket.destroyed) return;
          sink.outByteCount = bytes + end.length;
          sink.done();
          socket.write(end);
        },
        (err: unknown) => {
          sink.done();
          const e = err instanceof Error ? err : new Error(String(err));
          for (const fn of [...this.errorListeners]) fn(e);
        },
      );
  }
}

/** What nodemailer holds as its DATA stream while a PreparedBody is sent: the socket, and no-op stream calls. */
class PreparedDataSink {
  outByteCount = 0;
  inByteCount = 0;
  closed = false;
  constructor(readonly socket: Corkable, private readonly release: (sink: PreparedDataSink) => void) {}
  unpipe(): this {
    this.closed = true;
    return this;
  }
  done(): void {
    this.release(this);
  }
}

/** The members of nodemailer's SMTPConnection (10.6.1, pinned exactly in package.json) that sending uses. */
interface ConnInternals {
  _createSendStream?: (callback: (err: Error | null, str?: string) => void) => unknown;
  _actionSMTPStream?: (str: string, callback: (err: Error | null, str?: string) => void) => void;
  _responseActions?: ((str: string) => void)[];
  _socket?: Corkable;
  _currentDataStream?: unknown;
}

/**
 * Let a connection send bytes that are already in DATA form. SMTPConnection always pipes the message through
 * its DataStream, which escapes byte by byte in JS: for a 100 KB message that was the largest per-message cost
 * of delivery (more than the socket writes), and the two streams per message (ours and its) the next one. Our
 * messages are escaped once per issue (the template, headers.ts) plus a few hundred spliced bytes, so on this
 * connection only, the DATA stream is replaced by PreparedDataSink (send() then takes a PreparedBody); the
 * envelope, the replies and the errors stay nodemailer's. Private API: each member is checked, and when one is
 * missing (another nodemailer), returns false and the caller uses the stock path with a stream of `raw`.
 */
function sendPreparedData(conn: SMTPConnection): boolean {
  const c = conn as unknown as ConnInternals;
  if (typeof c._createSendStream !== 'function' || typeof c._actionSMTPStream !== 'function' || !Array.isArray(c._responseActions)) return false;
  c._createSendStream = function (this: ConnInternals, callback) {
    this._responseActions!.push((str) => this._actionSMTPStream!(str, callback));
    // The socket of the moment (after STARTTLS, the TLS one).
    const sink = new PreparedDataSink(this._socket!, (s) => {
      if (this._currentDataStream === s) this._currentDataStream = false;
    });
    this._currentDataStream = sink;
    return sink;
  };
  return true;
}

interface PooledConn {
  /** The DATA stream takes bytes in DATA form (sendPreparedData). */
  prepared: boolean;
  conn: SMTPConnection;
  messages: number;
  dead: boolean;
}

/** SMTP settings from SMTP_URL: smtp://user:pass@host:port (STARTTLS when offered), smtps:// (implicit TLS);
 *  query: ignoreTLS=true, requireTLS=true, tls=insecure or rejectUnauthorized=false (accept a certificate that
 *  does not verify: test servers with self-signed or expired certificates; the env equivalent is
 *  SMTP_TLS_REJECT_UNAUTHORIZED=0). */
export function smtpSettings(url: string): { host: string; port: number; secure: boolean; auth: { user: string; pass: string } | null; ignoreTLS: boolean; requireTLS: boolean; rejectUnauthorized: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DigestError('CONFIG_INVALID', 'SMTP_URL is not a URL', { origin: 'env SMTP_URL', hint: 'use smtp://user:password@host:587 or smtps://user:password@host:465' });
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new DigestError('CONFIG_INVALID', `SMTP_URL scheme ${u.protocol} is not smtp: or smtps:`, { origin: redactUrl(url), hint: 'use smtp://user:password@host:587 or smtps://user:password@host:465' });
  }
  const secure = u.protocol === 'smtps:';
  const q = u.searchParams;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : null,
    ignoreTLS: q.get('ignoreTLS') === 'true',
    requireTLS: q.get('requireTLS') === 'true',
    rejectUnauthorized: q.get('rejectUnauthorized') !== 'false' && q.get('tls') !== 'insecure',
  };
}

/** OpenSSL's verdicts on a certificate (Node's err.code), which nodemailer keeps as `originalCode`. */
const CERT_ERRORS = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA',
]);

/** The TLS certificate was refused (STARTTLS or smtps), as opposed to a network or protocol failure. */
export function isCertificateError(err: unknown): boolean {
  const e = err as { code?: unknown; originalCode?: unknown };
  return CERT_ERRORS.has(String(e?.originalCode ?? '')) || CERT_ERRORS.has(String(e?.code ?? ''));
}

export function isAuthError(err: unknown): boolean {
  const e = err as SendError;
  return e?.code === 'EAUTH' || e?.responseCode === 535 || e?.responseCode === 534 || e?.responseCode === 530;
}

/**
 * The server ended the session rather than refused the message: a 421 reply ("closing transmission channel",
 * what a server says when a session reached its message limit) or the connection closed under a command.
 */
export function sessionEnded(err: unknown): boolean {
  const e = err as SendError;
  return e?.responseCode === 421 || (e?.code === 'ECONNECTION' && typeof e.responseCode !== 'number');
}

export function createSmtpTransport(url: string, options: Partial<SmtpOptions> = {}): Transport {
  const o: SmtpOptions = {
    maxConnections: 5,
    maxMessagesPerConnection: 1000,
    rateLimitPerSecond: 0,
    connectionTimeoutMs: 15_000,
    greetingTimeoutMs: 15_000,
    socketTimeoutMs: 60_000,
    ...options,
  };
  const s = smtpSettings(url);
  const origin = redactUrl(url);
  const idle: PooledConn[] = [];
  const all = new Set<PooledConn>();
  const waiters: ((c: PooledConn | null) => void)[] = [];
  let opening = 0;
  let closed = false;
  let nextSlot = 0;

  const open = (): Promise<PooledConn> =>
    new Promise((resolve, reject) => {
      const conn = new SMTPConnection({
        host: s.host,
        port: s.port,
        secure: s.secure,
        ignoreTLS: s.ignoreTLS,
        requireTLS: s.requireTLS,
        connectionTimeout: o.connectionTimeoutMs,
        greetingTimeout: o.greetingTimeoutMs,
        socketTimeout: o.socketTimeoutMs,
        tls: { rejectUnauthorized: o.rejectUnauthorized ?? s.rejectUnauthorized },
      });
      const pc: PooledConn = { conn, messages: 0, dead: false, prepared: sendPreparedData(conn) };
      let settled = false;
      // An idle connection the server drops emits 'error'/'end'; unhandled, 'error' would crash the process.
      conn.on('error', (err: Error) => {
        pc.dead = true;
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      conn.on('end', () => {
        pc.dead = true;
      });
      conn.connect((err?: Error | null) => {
        if (err) {
          pc.dead = true;
          if (!settled) {
            settled = true;
            reject(err);
          }
          return;
        }
        const done = (e?: Error | null) => {
          if (settled) return;
          settled = true;
          if (e) {
            pc.dead = true;
            conn.close();
            reject(e);
          } else {
            all.add(pc);
            resolve(pc);
          }
        };
        if (s.auth) conn.login(s.auth, (e) => done(e));
        else done(null);
      });
    });

  const acquire = async (): Promise<PooledConn> => {
    for (;;) {
      if (closed) throw new DigestError('SEND_ABORTED', 'the SMTP transport is closed', { origin, hint: 'do not send after close()' });
      const pc = idle.pop();
      if (pc && !pc.dead) return pc;
      if (pc) {
        all.delete(pc);
        continue;
      }
      if (all.size + opening < o.maxConnections) {
        opening++;
        try {
          return await open();
        } catch (err) {
          // The slot this open held is free again: a waiter may try its own.
          waiters.shift()?.(null);
          throw err;
        } finally {
          opening--;
        }
      }
      const got = await new Promise<PooledConn | null>((r) => waiters.push(r));
      if (got) return got;
    }
  };

  const release = (pc: PooledConn, healthy: boolean) => {
    if (!healthy || pc.dead || closed || pc.messages >= o.maxMessagesPerConnection) {
      pc.dead = true;
      all.delete(pc);
      if (healthy && !closed) pc.conn.quit();
      else pc.conn.close();
      // A slot freed: let one waiter open a new connection.
      waiters.shift()?.(null);
      return;
    }
    const w = waiters.shift();
    if (w) w(pc);
    else idle.push(pc);
  };

  const throttle = async () => {
    if (o.rateLimitPerSecond <= 0) return;
    const now = Date.now();
    const at = Math.max(now, nextSlot);
    nextSlot = at + 1000 / o.rateLimitPerSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  };

  /** One message on one pooled connection; `onCommitStart` runs the moment the commit hook is entered. */
  const sendOn = (pc: PooledConn, msg: OutgoingMessage, onCommitStart: () => void): Promise<{ accepted: boolean; response: string }> =>
    new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        // SMTPConnection.close() drops a pending send without calling it back: settle it here. Whether the
        // message was committed is the caller's to know (onCommit).
        if (settled) return;
        settled = true;
        pc.dead = true;
        pc.conn.close();
        release(pc, false);
        reject(Object.assign(new Error('send timed out'), { code: 'ETIMEDOUT' }));
      };
      msg.signal?.addEventListener('abort', onAbort, { once: true });
      pc.messages++;
      const onCommit = () => {
        onCommitStart();
        return msg.onCommit?.();
      };
      const body = pc.prepared
        ? (new PreparedBody(msg.data ?? [dataBytes(msg.raw)], onCommit) as unknown as Readable)
        : bodyStream([typeof msg.raw === 'string' ? Buffer.from(msg.raw, 'latin1') : msg.raw], onCommit);
      pc.conn.send({ from: msg.from, to: [msg.to] }, body, (err, info) => {
        msg.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) {
          const e = err as SendError;
          // A refused message leaves the session usable after RSET; anything else: drop the connection.
          if ((e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== 421 && !pc.dead) {
            pc.conn.reset((resetErr) => release(pc, !resetErr));
          } else release(pc, false);
          reject(e);
          return;
        }
        release(pc, true);
        const accepted = (info.accepted ?? []).length > 0 && (info.rejected ?? []).length === 0;
        resolve({ accepted, response: String(info.response ?? '') });
      });
    });

  return {
    name: 'smtp',
    async send(msg) {
      await throttle();
      for (let moved = false; ; moved = true) {
        if (msg.signal?.aborted) throw Object.assign(new Error('send timed out before it started'), { code: 'ETIMEDOUT' });
        const pc = await acquire();
        const reused = pc.messages > 0;
        let commitStarted = false;
        try {
          return await sendOn(pc, msg, () => {
            commitStarted = true;
          });
        } catch (err) {
          // A reused session the server ended before this message's commit point (its per-session limit, its
          // idle timeout): the server cannot hold the message, so it goes once, at once, on a fresh connection,
          // instead of counting as a failed try with a backoff. Once only: a server that keeps failing is the
          // caller's to see. After the commit point nothing is moved (the server may hold it).
          if (!moved && reused && !commitStarted && !msg.signal?.aborted && sessionEnded(err)) continue;
          throw err;
        }
      }
    },
    async verify() {
      let pc: PooledConn;
      try {
        pc = await acquire();
      } catch (err) {
        if (isAuthError(err)) {
          throw new DigestError('SMTP_AUTH_FAILED', `the SMTP server refused our credentials: ${(err as SendError).response ?? (err as Error).message}`, {
            origin,
            hint: 'check the user and password in SMTP_URL (an app password if the provider requires one); nobody was sent anything',
            cause: err,
          });
        }
        if (isCertificateError(err)) {
          const code = String((err as { originalCode?: unknown }).originalCode ?? (err as SendError).code);
          throw new DigestError('SMTP_TLS_FAILED', `the SMTP server's TLS certificate was refused: ${(err as Error).message} (${code})`, {
            origin,
            hint: `${s.secure ? 'smtps://' : 'STARTTLS on smtp://'}: fix the server's certificate; for a test server you trust, accept it with ?tls=insecure on SMTP_URL or SMTP_TLS_REJECT_UNAUTHORIZED=0 (or ?ignoreTLS=true to send in the clear); nobody was sent anything`,
            cause: err,
          });
        }
        throw new DigestError('SMTP_UNREACHABLE', `cannot connect to the SMTP server: ${(err as Error).message}`, {
          origin,
          hint: 'check host and port in SMTP_URL and that the server is up; nobody was sent anything',
          cause: err,
        });
      }
      release(pc, true);
    },
    async close() {
      closed = true;
      for (const w of waiters.splice(0)) w(null);
      for (const pc of all) {
        pc.dead = true;
        pc.conn.quit();
      }
      all.clear();
      idle.length = 0;
    },
  };
}

/**
 * SMTP_URL set → smtp; DIGEST_TRANSPORT=json → in-memory sink; otherwise the outbox (.eml files).
 * SMTP_POOL_SIZE and SMTP_TIMEOUT_MS tune the pool; SMTP_TLS_REJECT_UNAUTHORIZED=0 accepts a certificate that
 * does not verify (like ?tls=insecure).
 */
export function createTransport(env: NodeJS.ProcessEnv, opts: { outboxDir: string; rateLimitPerSecond: number }): Transport {
  if (env.SMTP_URL && env.SMTP_URL.trim()) {
    const pool = Number(env.SMTP_POOL_SIZE);
    const timeout = Number(env.SMTP_TIMEOUT_MS);
    // Node's own NODE_TLS_REJECT_UNAUTHORIZED convention, scoped to this connection only.
    const insecure = env.SMTP_TLS_REJECT_UNAUTHORIZED?.trim() === '0';
    return createSmtpTransport(env.SMTP_URL.trim(), {
      rateLimitPerSecond: opts.rateLimitPerSecond,
      ...(insecure ? { rejectUnauthorized: false } : {}),
      ...(Number.isInteger(pool) && pool > 0 ? { maxConnections: pool } : {}),
      ...(Number.isFinite(timeout) && timeout > 0 ? { socketTimeoutMs: timeout } : {}),
    });
  }
  if (env.DIGEST_TRANSPORT === 'json') return createJsonTransport();
  return createOutboxTransport(opts.outboxDir);
}
