/**
 * Figures, not assertions on time: the cost of splicing one recipient into the message, and messages
 * per second through the json sink (splice + ledger fsync) and through a real SMTP server on 127.0.0.1.
 * Correctness is asserted.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { deliver } from '../../src/deliver/send.js';
import { buildMessageTemplate, spliceCheckedBytes, spliceMessage } from '../../src/deliver/headers.js';
import { createJsonTransport, createSmtpTransport } from '../../src/deliver/transports.js';
import { parseSubscribers } from '../../src/deliver/subscribers.js';
import { realisticSendSuite } from './smtp-sink.js';

const suite = realisticSendSuite('dd-tp-');
const { config, digest } = suite;
const list = (n: number, p: string) => parseSubscribers(Array.from({ length: n }, (_, i) => `${p}${i}@example.com`).join('\n'), 't', config.email.listId).subscribers;

describe('throughput figures', () => {
  it('splicing per recipient', async () => {
    const tpl = await buildMessageTemplate(suite.rendered, { from: config.email.from, replyTo: null, listId: config.email.listId, listName: config.site.title, date: new Date('2026-11-30T07:00:00Z') });
    const n = 5000;
    let t = process.hrtime.bigint();
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += spliceMessage(tpl, { to: `r${i}@example.com`, messageId: `<x.${i}@example.org>`, unsubscribeHttps: `https://s.example.org/u?token=${i}`, unsubscribeMailto: null, bodyUnsubscribeUrl: `https://s.example.org/u?token=${i}` }).length;
    const spliceUs = Number(process.hrtime.bigint() - t) / 1000 / n;
    expect(bytes / n).toBeGreaterThan(suite.rendered.htmlBytes);
    // What deliver() does per recipient: its URLs checked once per issue, chunks over the template's shared bytes,
    // nothing of the body copied.
    t = process.hrtime.bigint();
    let dataBytes = 0;
    for (let i = 0; i < n; i++) for (const c of spliceCheckedBytes(tpl, { to: `r${i}@example.com`, messageId: `<x.${i}@example.org>`, unsubscribeHttps: `https://s.example.org/u?token=${i}`, unsubscribeMailto: '', oneClick: true, bodyUnsubscribeUrl: `https://s.example.org/u?token=${i}` }).data) dataBytes += c.length;
    const chunksUs = Number(process.hrtime.bigint() - t) / 1000 / n;
    expect(dataBytes / n).toBeGreaterThanOrEqual(bytes / n);
    console.log(`splice full raw message, URLs checked per recipient (${Math.round(bytes / n / 1024)} KB): ${spliceUs.toFixed(1)} µs/recipient; as DATA chunks, URLs checked per issue (deliver): ${chunksUs.toFixed(1)} µs/recipient`);
  });

  it('deliver() into the json sink: messages/s including the fsync\'d ledger', async () => {
    const sinkT = createJsonTransport({ keepRaw: false });
    const subs = list(1000, 'json');
    const t = Date.now();
    const cpu = process.cpuUsage();
    const s = await deliver({ digest, rendered: suite.rendered, config, subscribers: subs, transport: sinkT, ledgerDir: path.join(suite.dir, 'json'), now: new Date(), dryRun: false, secret: 's', dkim: null });
    const used = process.cpuUsage(cpu);
    const ms = Date.now() - t;
    expect(s.sent).toBe(1000);
    expect(sinkT.messages).toHaveLength(1000);
    // Wall time depends on the disk's fsync and the machine's load; CPU per message is the steadier figure.
    console.log(`deliver → json sink: 1000 messages in ${ms} ms (${Math.round(1000 / (ms / 1000))} messages/s), ${((used.user + used.system) / 1000 / 1000).toFixed(3)} ms CPU per message`);
  });

  it('deliver() over SMTP to 127.0.0.1 (5 connections): messages/s', async () => {
    const subs = list(500, 'smtp');
    const transport = createSmtpTransport(suite.sink.url(), { maxConnections: 5 });
    const t = Date.now();
    const s = await deliver({ digest, rendered: suite.rendered, config, subscribers: subs, transport, ledgerDir: path.join(suite.dir, 'smtp'), now: new Date(), dryRun: false, secret: 's', dkim: null });
    const ms = Date.now() - t;
    await transport.close();
    expect(s.sent).toBe(500);
    expect(new Set(suite.sink.messages.map((m) => m.to[0])).size).toBe(500);
    console.log(`deliver → SMTP 127.0.0.1: 500 messages in ${ms} ms (${Math.round(500 / (ms / 1000))} messages/s)`);
  });
});
