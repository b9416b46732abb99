/**
 * Run by crash.test.ts in a child process (node --import tsx), which kills it with SIGKILL mid-delivery.
 * argv: <smtp url> <ledger dir> <rendered.json> <recipient count>. Prints the summary as JSON on success.
 */
import { readFileSync } from 'node:fs';
import { deliver } from '../../src/deliver/send.js';
import { createSmtpTransport } from '../../src/deliver/transports.js';
import { parseSubscribers } from '../../src/deliver/subscribers.js';
import type { RenderedEmail } from '../../src/model.js';
import { loadDigest, testConfig } from './smtp-sink.js';

const [url, ledgerDir, renderedPath, count] = process.argv.slice(2);
const config = testConfig();
const rendered = JSON.parse(readFileSync(renderedPath!, 'utf8')) as RenderedEmail;
const list = Array.from({ length: Number(count) }, (_, i) => `crash${i}@example.com`).join('\n');
const { subscribers } = parseSubscribers(list, 'crash-child', config.email.listId);
// CRASH_CONNECTIONS (default 1): with one message at a time the kill point is deterministic; with several in
// flight a kill -9 can land between another message's commit record and its end-of-data dot reaching the
// socket (a few event-loop ticks): that recipient is then unknown, never duplicated.
const connections = Number(process.env.CRASH_CONNECTIONS ?? 1);
const transport = createSmtpTransport(url!, { maxConnections: connections, socketTimeoutMs: 10_000 });
try {
  const summary = await deliver({
    digest: loadDigest('realistic'), rendered, config, subscribers, transport, ledgerDir: ledgerDir!,
    now: new Date('2026-11-30T07:00:00Z'), dryRun: false, secret: 'crash-test-secret', dkim: null, concurrency: connections,
  });
  process.stdout.write(JSON.stringify(summary) + '\n');
} finally {
  await transport.close();
}
