import net from 'node:net';

/**
 * The ceiling for delivery: a bare SMTP client that writes each command on a raw socket and waits only for
 * the reply it needs. No MIME building, no pooling library, nothing but the protocol: the fastest this
 * machine can hand the same messages to the same sink.
 */
export async function blastRawSmtp(opts: { port: number; connections: number; messages: Buffer[]; from: string; to: (i: number) => string }): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const sock = net.connect(opts.port, '127.0.0.1');
      let buf = '';
      const waiters: ((line: string) => void)[] = [];
      sock.setEncoding('latin1');
      sock.on('data', (chunk: string) => {
        buf += chunk;
        let idx: number;
        while ((idx = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          if (/^\d{3} /.test(line)) waiters.shift()?.(line);
        }
      });
      sock.on('error', reject);
      const reply = () => new Promise<string>((r) => waiters.push(r));
      const cmd = async (line: string, expect: string) => {
        const p = reply();
        sock.write(`${line}\r\n`);
        const got = await p;
        if (!got.startsWith(expect)) throw new Error(`${line.split(' ')[0]}: ${got}`);
      };
      (async () => {
        const greeting = await reply();
        if (!greeting.startsWith('220')) throw new Error(greeting);
        await cmd('EHLO bench.local', '250');
        for (;;) {
          const i = next++;
          if (i >= opts.messages.length) break;
          await cmd(`MAIL FROM:<${opts.from}>`, '250');
          await cmd(`RCPT TO:<${opts.to(i)}>`, '250');
          await cmd('DATA', '354');
          const p = reply();
          sock.write(opts.messages[i] as Buffer);
          sock.write('\r\n.\r\n');
          const done = await p;
          if (!done.startsWith('250')) throw new Error(done);
        }
        await cmd('QUIT', '221').catch(() => undefined);
        sock.end();
        resolve();
      })().catch(reject);
    });
  await Promise.all(Array.from({ length: opts.connections }, worker));
  return opts.messages.length / ((performance.now() - t0) / 1000);
}
