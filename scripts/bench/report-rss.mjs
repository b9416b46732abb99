// Preloaded into the benchmark's end-to-end child: writes the process's peak resident set (KB) and its CPU
// time (ms, user + system: steadier than wall time on a shared machine) on exit, as "<kb> <ms>".
// With DIGEST_RSS_TRACE=<file> it also appends, every 100 ms, the time and the process's resident set (MB,
// sampled by a worker thread, so stages that hold the main thread for seconds are still seen), the main
// thread's heap (used, total) when it is free to sample, and each line the CLI prints, so a peak can be put
// against the stage that made it.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

process.on('exit', () => {
  const u = process.resourceUsage();
  if (process.env.DIGEST_RSS_REPORT) writeFileSync(process.env.DIGEST_RSS_REPORT, `${u.maxRSS} ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}`);
});

const trace = process.env.DIGEST_RSS_TRACE;
if (trace) {
  const origin = performance.timeOrigin;
  const stamp = () => ((performance.now()) / 1000).toFixed(1).padStart(6);
  const mb = (n) => String(Math.round(n / 1048576)).padStart(5);
  writeFileSync(trace, '     s    rss | main heap: used total\n');
  new Worker(`
    const { appendFileSync } = require('node:fs');
    const { workerData: { trace, origin } } = require('node:worker_threads');
    setInterval(() => {
      const s = ((Date.now() - origin) / 1000).toFixed(1).padStart(6);
      appendFileSync(trace, s + ' ' + String(Math.round(process.memoryUsage.rss() / 1048576)).padStart(6) + '\\n');
    }, 100);
  `, { eval: true, workerData: { trace, origin } }).unref();
  setInterval(() => {
    const m = process.memoryUsage();
    appendFileSync(trace, `${stamp()}        | ${mb(m.heapUsed)} ${mb(m.heapTotal)}\n`);
  }, 500).unref();
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk, ...rest) => {
      appendFileSync(trace, `${stamp()} > ${String(chunk).trimEnd()}\n`);
      return write(chunk, ...rest);
    };
  }
}
