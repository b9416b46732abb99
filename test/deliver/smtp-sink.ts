/**
 * A real SMTP server (smtp-server) on 127.0.0.1 for delivery tests, with faults we can inject per recipient:
 * reply codes at RCPT or after the body, a dropped connection before or after the body, a slow reply.
 * Messages count as delivered only when the server answered 250 to the body, or when the body was complete
 * and the test chose to drop the connection afterwards ("the server holds it but the client never heard").
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { renderEmail } from '../../src/render/email.js';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.js';
import type { Config, Digest, RenderedEmail } from '../../src/model.js';

export type Action =
  | { kind: 'ok' }
  | { kind: 'reject'; code: number; message?: string }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number; then?: Action };

export interface Sink {
  port: number;
  /** smtp:// URL with the right credentials (pass `auth: false` to get wrong ones). */
  url(opts?: { badPassword?: boolean }): string;
  /** Delivered messages, in order. */
  messages: { to: string[]; raw: string }[];
  /** RCPT TO commands seen (any outcome). */
  rcpts: string[];
  /** When true, every login is refused with 535 (credentials revoked mid-run). */
  refuseAuth: boolean;
  /** Behaviour per recipient, consulted at RCPT TO and after the body; `n` counts how often that stage was hit for that address. */
  behave: { rcpt?: (to: string, n: number) => Action; data?: (to: string, n: number) => Action; afterAccept?: (total: number) => void; mail?: (nthInSession: number) => Action };
  /** Connections the server has accepted (sessions started). */
  sessions: number;
  reset(): void;
  close(): Promise<void>;
}

export const USER = 'digest';
export const PASS = 'correct horse battery staple';

export async function startSink(): Promise<Sink> {
  const counts = new Map<string, number>();
  const bump = (k: string) => {
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    return n;
  };
  const sink: Sink = {
    port: 0,
    url: (o) => `smtp://${USER}:${encodeURIComponent(o?.badPassword ? 'wrong' : PASS)}@127.0.0.1:${sink.port}/?ignoreTLS=true`,
    messages: [],
    rcpts: [],
    refuseAuth: false,
    behave: {},
    sessions: 0,
    reset() {
      sink.sessions = 0;
      sink.refuseAuth = false;
      sink.messages.length = 0;
      sink.rcpts.length = 0;
      sink.behave = {};
      counts.clear();
    },
    close: async () => {},
  };
  const dropConnection = (session: SMTPServerSession) => {
    const conns = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
    for (const c of conns) if (c.id === session.id) c._socket.destroy();
  };
  const run = (action: Action, session: SMTPServerSession, cb: (err?: Error | null) => void, onOk: () => void) => {
    switch (action.kind) {
      case 'ok':
        onOk();
        cb();
        return;
      case 'reject':
        cb(Object.assign(new Error(action.message ?? `injected ${action.code}`), { responseCode: action.code }));
        return;
      case 'drop':
        dropConnection(session);
        return;
      case 'delay':
        setTimeout(() => run(action.then ?? { kind: 'ok' }, session, cb, onOk), action.ms);
        return;
    }
  };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (!sink.refuseAuth && auth.username === USER && auth.password === PASS) cb(null, { user: USER });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onConnect(_session, cb) {
      sink.sessions++;
      cb();
    },
    // `mail` sees which MAIL FROM of the session this is (1 for the first message on a connection).
    onMailFrom(_address, session, cb) {
      const action = sink.behave.mail?.(session.transaction) ?? { kind: 'ok' };
      run(action, session, cb, () => {});
    },
    onRcptTo(address, session, cb) {
      const to = address.address.toLowerCase();
      sink.rcpts.push(to);
      const action = sink.behave.rcpt?.(to, bump(`rcpt:${to}`)) ?? { kind: 'ok' };
      run(action, session, cb, () => {});
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const raw = Buffer.concat(chunks).toString('latin1');
        const action = sink.behave.data?.(to[0] ?? '', bump(`data:${to[0]}`)) ?? { kind: 'ok' };
        const store = () => {
          sink.messages.push({ to, raw });
          sink.behave.afterAccept?.(sink.messages.length);
        };
        // "drop after the body": the server keeps the message but the client never hears 250.
        if (action.kind === 'drop') store();
        run(action, session, cb, store);
      });
    },
  });
  // Clients killed or timed out mid-session reset their sockets; that is the point of these tests, not an error.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () =>
    new Promise<void>((resolve) => {
      const conns = (server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections;
      for (const c of conns) c._socket.destroy();
      server.close(() => resolve());
    });
  return sink;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

export function testConfig(email: Partial<Config['email']> = {}): Config {
  const config = parseConfig({
    'themes.yaml': readFileSync(`${root}sources/themes.yaml`, 'utf8'),
    'speakers.yaml': readFileSync(`${root}sources/speakers.yaml`, 'utf8'),
  });
  // Pinned here rather than taken from the defaults in src/config.ts, so the snapshots and header checks do
  // not move when someone retitles the default site.
  return {
    ...config,
    site: { ...config.site, title: 'Debate Digest: the age of scaling or the age of research?', url: 'https://example.github.io', basePath: '/', language: 'en', timeZone: 'UTC' },
    email: {
      from: 'Debate Digest <digest@example.org>',
      replyTo: null,
      listId: 'debate-digest.example.org',
      unsubscribeUrl: 'https://subscribe.example.org/unsubscribe',
      unsubscribeMailto: 'unsubscribe@example.org',
      senderLine: 'Debate Digest · an open-source digest · example.org',
      maxHtmlBytes: 90_000,
      rateLimitPerSecond: 0,
      ...email,
    },
  };
}

export function loadDigest(name: 'realistic' | 'huge' | 'hostile'): Digest {
  return JSON.parse(readFileSync(`${root}test/fixtures/digests/${name}.json`, 'utf8')) as Digest;
}

/**
 * What a file of send tests shares: the realistic issue rendered once, a running sink and a scratch directory,
 * set up before the file's tests and torn down after them (the hooks are registered here).
 */
export function realisticSendSuite(prefix: string): { config: Config; digest: Digest; rendered: RenderedEmail; sink: Sink; dir: string } {
  const suite = { config: testConfig(), digest: loadDigest('realistic') } as { config: Config; digest: Digest; rendered: RenderedEmail; sink: Sink; dir: string };
  beforeAll(async () => {
    suite.rendered = await renderEmail(suite.digest, suite.config, { webUrl: 'https://example.github.io/issues/x/', archiveUrl: 'https://example.github.io/' });
    suite.sink = await startSink();
    suite.dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await suite.sink.close();
    rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
