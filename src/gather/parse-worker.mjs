// A worker thread that parses feeds for gather's parse pool (src/gather/pool.ts). It is plain JavaScript
// so it starts the same way under every runner (the `digest` bin, tsx, vitest): it registers tsx itself and
// then loads the TypeScript parser, exactly the code the main thread would run.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { parseFeed } = await import('./feeds.ts');
const { knownHashLength } = await import('./ledger.ts');

parentPort.on('message', async (job) => {
  try {
    const parsed = await parseFeed(job.xml, job.origin, job.opts);
    // The main thread decides which texts are long enough to identify an item from their normalized
    // length; hand it over so it is not normalized a second time there.
    const lengths = parsed.items.map((i) => knownHashLength(i.contentHash) ?? -1);
    parentPort.postMessage({ id: job.id, parsed, lengths });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
