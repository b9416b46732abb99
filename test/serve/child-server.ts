/** A service in its own process on a given database file, for the two-process race test. Prints its URL. */
import { createJsonTransport } from '../../src/deliver/transports.js';
import { startServer } from '../../src/serve/server.js';
import { testConfig } from './helpers.js';

async function main() {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    config: testConfig(),
    env: { UNSUBSCRIBE_SECRET: process.env.UNSUBSCRIBE_SECRET },
    databasePath: process.env.DATABASE_PATH!,
    transport: createJsonTransport(),
    log: () => {},
    limits: { perIp: { max: 100_000, windowSeconds: 600 }, perAddress: { max: 100_000, windowSeconds: 600 } },
  });
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
}
void main();
