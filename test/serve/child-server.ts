/** A service in its own process on a given database file (race.test.ts), run as the CLI would run it. */
import { createJsonTransport } from '../../src/deliver/transports.js';
import { serveUntilSignal } from '../../src/serve/server.js';
import { testConfig } from './helpers.js';

async function main() {
  await serveUntilSignal({
    host: '127.0.0.1',
    port: 0,
    config: testConfig(),
    env: { UNSUBSCRIBE_SECRET: process.env.UNSUBSCRIBE_SECRET },
    databasePath: process.env.DATABASE_PATH!,
    transport: createJsonTransport(),
    log: (line) => process.stdout.write(`${line}\n`),
    limits: { perIp: { max: 100_000, windowSeconds: 600 }, perAddress: { max: 100_000, windowSeconds: 600 } },
  });
  process.stdout.write('closed\n');
}
void main();
