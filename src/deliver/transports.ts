/**
 * Transports: small objects with one contract (test/deliver/transports.test.ts runs the same suite on each).
 *
 *   outbox  .eml files, one per recipient, named by issue + recipient hash (never the address): the default,
 *           the dry run of a real send.
 *   smtp    SMTP_URL set: a pool of connections that nodemailer's SMTPConnection opens (connect, EHLO, STARTTLS,
 *           AUTH) and on which we run each message transaction ourselves (Session), sending pre-built raw messages.
 *           Session takes over nodemailer's socket through its internals (nodemailer is pinned exactly); with a
 *           nodemailer whose internals differ, verify() fails with SMTP_CLIENT_UNSUPPORTED before anyone is sent.
 *   json    an in-memory sink (nodemailer's jsonTransport idea) for tests and the benchmark.
 *
 * Why our own small pool and transaction rather than createTransport({pool:true}): exactly-once delivery needs
 * to know whether the message could be complete at the server when a connection died (then the server may
 * hold it: "unknown", not resent) or not (safe to retry). A server takes a message only at the end-of-data
 * dot; nodemailer's pooled transport reads the message stream ahead into buffers, while Session writes the
 * whole body, calls `onCommit`, and only then writes the dot.
 */
import { readFileSync } from 'node:fs';
import { access, mkdir, writeFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { DigestError, redactUrl } from '../errors.js';
import { crlf, dotStuff } from './headers.js';

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
  return Buffer.from(dotStuff(bare ? crlf(s) : s, true), 'latin1');
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
  /**
   * How Session reads nodemailer's connection internals. Default: the connection object itself. A seam for tests,
   * which stand in another nodemailer version's shape to check that it fails at verify(), before anything is sent.
   */
  connInternals?: (conn: SMTPConnection) => unknown;
}

const DOT_CRLF = Buffer.from('.\r\n');
const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');
/** Longest reply we buffer (nodemailer's own limit is of this order): a peer that never ends a line is dropped. */
const MAX_REPLY = 64 * 1024;

type SessionSocket = NodeJS.WritableStream & {
  cork(): void;
  uncork(): void;
  destroy(): void;
  destroyed?: boolean;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  once(event: 'close', fn: () => void): unknown;
  removeListener(event: string, fn: (...args: never[]) => void): unknown;
};

/** The nodemailer version whose SMTPConnection internals Session was written against (pinned exactly in package.json). */
const NODEMAILER_WRITTEN_FOR = '10.6.1';

/** The members of nodemailer's SMTPConnection that Session uses. */
interface ConnInternals {
  _socket?: SessionSocket | false;
  _onSocketData?: (chunk: Buffer) => void;
  _responseActions?: unknown[];
  _remainder?: string;
  _supportedExtensions?: string[];
}

/** The installed nodemailer's version, for the error that says it is not the one we were written for. */
function installedNodemailerVersion(): string {
  try {
    // nodemailer's exports map hides its package.json: walk up from its entry point instead.
    let dir = path.dirname(createRequire(import.meta.url).resolve('nodemailer'));
    for (let up = 0; up < 4; up++, dir = path.dirname(dir)) {
      let pkg: { name?: unknown; version?: unknown } | null = null;
      try {
        pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      } catch {
        // No package.json at this level: look one up.
      }
      if (pkg?.name === 'nodemailer' && typeof pkg.version === 'string') return pkg.version;
    }
  } catch {
    // Not resolvable: the message says so.
  }
  return 'of unknown version';
}

/** An error shaped as nodemailer shapes its own (code, response, responseCode, command): send.ts branches on them. */
function smtpError(message: string, code: string, response: string | null, command: string): SendError {
  const err: SendError = new Error(response ? `${message}: ${response}` : message);
  err.code = code;
  if (response) {
    err.response = response;
    const n = Number(/^\d+/.exec(response)?.[0]);
    if (n) err.responseCode = n;
  }
  err.command = command;
  return err;
}

/**
 * One message transaction at a time on a connection nodemailer opened (connect, EHLO, STARTTLS, AUTH stay
 * nodemailer's), written on its socket directly. Why: per message, nodemailer's send() built an envelope
 * object, a DATA stream, response-action closures and its own error objects, and escaped the body byte by
 * byte in JS; all of it, not SMTP, made our client cost 2.5× the raw client's CPU per message on the bench.
 * Here a message is one write of MAIL FROM, RCPT TO and DATA (pipelined when the server offers PIPELINING, as
 * nodemailer does), the body's pre-escaped chunks in one corked write, then the commit hook, and only then the
 * end-of-data dot (the commit point, see OutgoingMessage.onCommit). Replies and errors keep nodemailer's
 * shape (code, responseCode, response, command), so send.ts classifies them as before.
 */
class Session {
  private buf = '';
  /** Lines of the reply being received (a multi-line reply ends at a line without "-" after the code). */
  private lines: string[] = [];
  private readonly waiting: { resolve: (reply: string) => void; reject: (err: Error) => void }[] = [];
  closed = false;
  /** What the server said before closing, when it was a failure reply without its line end (for the error). */
  private lastWords: string | null = null;

  private constructor(
    private readonly conn: SMTPConnection,
    private readonly socket: SessionSocket,
    private readonly extensions: readonly string[],
    private readonly handBack: (chunk: Buffer) => void,
  ) {
    socket.on('data', this.onData);
    socket.once('close', this.onClose);
  }

  /**
   * Take over a connection nodemailer has opened and logged in (`internals`: what conn's members are read from).
   * Throws SMTP_CLIENT_UNSUPPORTED when those members are not the ones Session was written for (another
   * nodemailer), and an ECONNECTION error when they are but the connection is not idle (closed, or a reply
   * pending), which a fresh connection may not share.
   */
  static takeOver(conn: SMTPConnection, internals: unknown, origin: string): Session {
    const c = (internals ?? {}) as ConnInternals;
    const socket = c._socket || null;
    const handBack = typeof c._onSocketData === 'function' ? c._onSocketData : null;
    const extensions = Array.isArray(c._supportedExtensions) ? c._supportedExtensions : null;
    const missing = [
      !socket || typeof socket.on !== 'function' || typeof socket.removeListener !== 'function' || typeof socket.write !== 'function' ? '_socket' : '',
      handBack ? '' : '_onSocketData',
      Array.isArray(c._responseActions) ? '' : '_responseActions',
      typeof c._remainder === 'string' ? '' : '_remainder',
      extensions ? '' : '_supportedExtensions',
    ].filter(Boolean);
    if (missing.length || !socket || !handBack || !extensions) {
      const installed = installedNodemailerVersion();
      throw new DigestError('SMTP_CLIENT_UNSUPPORTED', `nodemailer ${installed} is installed, but the smtp transport takes over the SMTP connection of nodemailer ${NODEMAILER_WRITTEN_FOR}, and this one lacks ${missing.join(', ')}`, {
        origin,
        hint: `install nodemailer ${NODEMAILER_WRITTEN_FOR} exactly as package.json pins it (npm ci), or port Session in src/deliver/transports.ts to nodemailer ${installed} and update NODEMAILER_WRITTEN_FOR; nobody was sent anything`,
      });
    }
    if (socket.destroyed || c._responseActions?.length || c._remainder) throw smtpError('Connection not idle after login', 'ECONNECTION', null, 'CONN');
    socket.removeListener('data', handBack);
    return new Session(conn, socket, extensions, handBack);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf += chunk.toString('latin1');
    let at: number;
    while ((at = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, at).replace(/\r$/, '');
      this.buf = this.buf.slice(at + 1);
      this.lines.push(line);
      if (/^\d{3}-/.test(line)) continue;
      const reply = this.lines.join('\n');
      this.lines = [];
      const w = this.waiting.shift();
      if (w) w.resolve(reply);
      // A reply nobody asked for (a server closing an idle session says 421): this session is over.
      else this.drop();
    }
    if (this.buf.length + this.lines.reduce((n, l) => n + l.length, 0) > MAX_REPLY) this.drop();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    const rest = [...this.lines, this.buf.trim()].filter(Boolean).join('\n');
    // As nodemailer: an unterminated rest is reported as a reply only when it reads as a failure reply.
    this.lastWords = /^[45]\d{2}[ -]/.test(rest) ? rest : null;
    for (const w of this.waiting.splice(0)) w.reject(smtpError('Connection closed unexpectedly', 'ECONNECTION', this.lastWords, 'CONN'));
  };

  /** The next reply; rejects (ECONNECTION) if the connection closes first. */
  private reply(): Promise<string> {
    if (this.closed) return Promise.reject(smtpError('Connection closed unexpectedly', 'ECONNECTION', this.lastWords, 'CONN'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Drop the connection without a word (no end-of-data dot can follow). */
  drop(): void {
    this.closed = true;
    this.conn.close();
  }

  /** Send one message; resolves with the server's final reply, rejects with a nodemailer-shaped error. */
  async send(from: string, to: string, chunks: readonly Buffer[], onCommit: () => void | Promise<void>, aborted: () => boolean): Promise<string> {
    // Never let an address carry a line break or a bracket into a command (nodemailer's own check).
    if (/[\r\n<>]/.test(from)) throw smtpError(`Invalid sender ${JSON.stringify(from)}`, 'EENVELOPE', null, 'API');
    if (!to || /[\r\n<>]/.test(to)) throw smtpError(`Invalid recipient ${JSON.stringify(to)}`, 'EENVELOPE', null, 'API');
    if (this.closed) throw smtpError('Connection closed unexpectedly', 'ECONNECTION', null, 'API');
    const utf8 = /[\x80-\uFFFF]/.test(from + to) && this.extensions.includes('SMTPUTF8') ? ' SMTPUTF8' : '';
    const mail = `MAIL FROM:<${from}>${utf8}\r\n`;
    const rcpt = `RCPT TO:<${to}>\r\n`;
    let mailReply: string;
    let rcptReply: string;
    let dataReply: string;
    if (this.extensions.includes('PIPELINING')) {
      const replies = [this.reply(), this.reply(), this.reply()];
      // The later promises may reject while we wait on the first (connection closed): handled below, not unhandled.
      for (const r of replies) r.catch(() => undefined);
      this.socket.write(`${mail}${rcpt}DATA\r\n`);
      mailReply = await this.answer(replies[0]!, 'MAIL FROM');
      rcptReply = await this.answer(replies[1]!, 'RCPT TO');
      dataReply = await this.answer(replies[2]!, 'DATA');
    } else {
      this.socket.write(mail);
      mailReply = await this.answer(this.reply(), 'MAIL FROM');
      if (mailReply[0] !== '2') throw smtpError('Mail command failed', 'EENVELOPE', mailReply, 'MAIL FROM');
      this.socket.write(rcpt);
      rcptReply = await this.answer(this.reply(), 'RCPT TO');
      if (rcptReply[0] !== '2') throw smtpError("Can't send mail - all recipients were rejected", 'EENVELOPE', rcptReply, 'RCPT TO');
      this.socket.write('DATA\r\n');
      dataReply = await this.answer(this.reply(), 'DATA');
    }
    if (mailReply[0] !== '2' || rcptReply[0] !== '2') {
      const err = mailReply[0] !== '2'
        ? smtpError('Mail command failed', 'EENVELOPE', mailReply, 'MAIL FROM')
        : smtpError("Can't send mail - all recipients were rejected", 'EENVELOPE', rcptReply, 'RCPT TO');
      if (dataReply[0] === '3') {
        // A server must refuse DATA without a sender and recipient; this one took it. Without a sender it cannot be
        // trusted with anything: drop. Without a recipient, end the empty message (nobody to go to) as nodemailer does.
        if (mailReply[0] !== '2') this.drop();
        else {
          this.socket.write(DOT_CRLF);
          await this.reply().catch(() => undefined);
        }
      }
      throw err;
    }
    // 354 expected; some servers say 250 (nodemailer accepts 2xx and 3xx here).
    if (!/^[23]/.test(dataReply)) throw smtpError('Data command failed', 'EENVELOPE', dataReply, 'DATA');
    const final = this.reply();
    final.catch(() => undefined);
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
    try {
      await onCommit();
    } catch (err) {
      // Abandoned before the dot: drop the connection, and the server discards the message it never saw end.
      this.drop();
      const e = (err instanceof Error ? err : new Error(String(err))) as SendError;
      e.code ??= 'ESTREAM';
      throw e;
    }
    // Closed meanwhile (timeout, error): no dot, the server must not take the message.
    if (this.closed || aborted() || this.socket.destroyed) throw smtpError('Connection closed before the end of data', 'ECONNECTION', null, 'DATA');
    const last = chunks.length ? chunks[chunks.length - 1]! : null;
    this.socket.write(last && last.length && last[last.length - 1] === 0x0a ? DOT_CRLF : CRLF_DOT_CRLF);
    const done = await final;
    if (done[0] !== '2') throw smtpError('Message failed', 'EMESSAGE', done, 'DATA');
    return done;
  }

  /** A reply to `command`; a 421 (the server is closing the session) ends the session, as nodemailer does. */
  private async answer(p: Promise<string>, command: string): Promise<string> {
    const r = await p;
    if (r.startsWith('421')) {
      this.drop();
      throw smtpError(command === 'MAIL FROM' ? 'Mail command failed' : 'Server closed the connection', command === 'MAIL FROM' ? 'EENVELOPE' : 'ECONNECTION', r, command);
    }
    return r;
  }

  /** RSET after a refused message: the session is usable again when the server says 2xx. */
  async reset(): Promise<boolean> {
    if (this.closed) return false;
    const r = this.reply();
    this.socket.write('RSET\r\n');
    return r.then((s) => s[0] === '2', () => false);
  }

  /** End politely: hand the socket back to nodemailer (idle, in step) and let it say QUIT. */
  quit(): void {
    if (this.closed || this.waiting.length || this.lines.length || this.buf) {
      this.drop();
      return;
    }
    this.closed = true;
    this.socket.removeListener('data', this.onData);
    this.socket.on('data', this.handBack);
    this.conn.quit();
  }
}

interface PooledConn {
  /** Our own message transactions on nodemailer's socket. */
  session: Session;
  conn: SMTPConnection;
  messages: number;
  /** nodemailer said 'error' or 'end' (a server dropping an idle connection). */
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
      // Made once the session is ours; until then a failure rejects the open instead.
      let pc: PooledConn | null = null;
      let settled = false;
      // An idle connection the server drops emits 'error'/'end'; unhandled, 'error' would crash the process.
      conn.on('error', (err: Error) => {
        if (pc) pc.dead = true;
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      conn.on('end', () => {
        if (pc) pc.dead = true;
      });
      conn.connect((err?: Error | null) => {
        if (err) {
          if (!settled) {
            settled = true;
            reject(err);
          }
          return;
        }
        const done = (e?: Error | null) => {
          if (settled) return;
          settled = true;
          let session: Session;
          try {
            if (e) throw e;
            session = Session.takeOver(conn, o.connInternals ? o.connInternals(conn) : conn, origin);
          } catch (failed) {
            conn.close();
            reject(failed);
            return;
          }
          pc = { conn, session, messages: 0, dead: false };
          all.add(pc);
          resolve(pc);
        };
        if (s.auth) conn.login(s.auth, (e) => done(e));
        else done(null);
      });
    });

  const acquire = async (): Promise<PooledConn> => {
    for (;;) {
      if (closed) throw new DigestError('SEND_ABORTED', 'the SMTP transport is closed', { origin, hint: 'do not send after close()' });
      const pc = idle.pop();
      if (pc && !pc.dead && !pc.session.closed) return pc;
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
    if (!healthy || pc.dead || pc.session.closed || closed || pc.messages >= o.maxMessagesPerConnection) {
      pc.dead = true;
      all.delete(pc);
      if (healthy && !closed) pc.session.quit();
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
        // Settled here at once, not when the closed socket fails the session's pending reply. Whether the
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
      const finish = (err: unknown, response?: string) => {
        msg.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) {
          const e = err as SendError;
          // A refused message leaves the session usable after RSET; anything else: drop the connection.
          if ((e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== 421 && !pc.dead && !pc.session.closed) void pc.session.reset().then((ok) => release(pc, ok));
          else release(pc, false);
          reject(e);
          return;
        }
        release(pc, true);
        resolve({ accepted: true, response: response ?? '' });
      };
      pc.session.send(msg.from, msg.to, msg.data ?? [dataBytes(msg.raw)], onCommit, () => settled).then((r) => finish(null, r), (err: unknown) => finish(err));
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
        // Already says what and what to do (SMTP_CLIENT_UNSUPPORTED).
        if (err instanceof DigestError) throw err;
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
        const notIdle = /not idle after login/.test((err as Error).message);
        throw new DigestError('SMTP_UNREACHABLE', notIdle ? `the SMTP connection was not idle after login (closed, or more data pending): ${(err as Error).message}` : `cannot connect to the SMTP server: ${(err as Error).message}`, {
          origin,
          hint: notIdle
            ? 'the server closed the connection or sent more than the login reply; run again, and if it keeps happening check the server log for why it drops clients after AUTH; nobody was sent anything'
            : 'check host and port in SMTP_URL and that the server is up; nobody was sent anything',
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
        pc.session.quit();
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
