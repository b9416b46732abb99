// An SMTP sink for the benchmark, in its own process so that it does not share an event loop (or a core)
// with the client being measured. It accepts every message and reports over IPC: {port} once listening,
// then {count, first, cpuMs} when asked with 'stats' (cpuMs: this process's CPU time so far, to tell a client
// that is slow from a sink that is busy).
import { SMTPServer } from 'smtp-server';

let count = 0;
let first = null;
const server = new SMTPServer({
  authOptional: true,
  hideSTARTTLS: true, // smtp-server's bundled test certificate has expired; the bench measures plain SMTP
  disableReverseLookup: true,
  logger: false,
  size: 10 * 1024 * 1024,
  maxClients: 200,
  onData(stream, _session, cb) {
    const chunks = first === null ? [] : null;
    stream.on('data', (c) => chunks?.push(c));
    stream.on('end', () => {
      if (chunks && first === null) first = Buffer.concat(chunks).toString('base64');
      count++;
      cb();
    });
  },
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.server.address().port }));
process.on('message', (m) => {
  if (m === 'stats') {
    const cpu = process.cpuUsage();
    process.send?.({ count, first, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  if (m === 'reset') count = 0;
  if (m === 'stop') server.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
