// Preloaded into the benchmark's end-to-end child: writes the process's peak resident set (KB) on exit.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.DIGEST_RSS_REPORT) writeFileSync(process.env.DIGEST_RSS_REPORT, String(process.resourceUsage().maxRSS));
});
