/**
 * Preloaded (`node --import`) into a `digest` child by state-crash.test.ts, which has no other way to stop the
 * real CLI at one exact point. It wraps fs/promises.rename, the commit point of every atomic write in
 * digests/ (temp file, then rename), and SIGKILLs the process there: no finally block, no exit handler runs.
 *   CRASH_AT=before-record  just before an issue record (digests/<yyyy-mm-dd>-<n>.json) is renamed into place
 *   CRASH_AT=after-record   just after it is
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { syncBuiltinESMExports } from 'node:module';

const RECORD = /^\d{4}-\d{2}-\d{2}-\d+\.json$/;
const at = process.env.CRASH_AT;
const real = fsp.rename;
fsp.rename = async (from, to) => {
  const record = RECORD.test(path.basename(String(to)));
  if (record && at === 'before-record') die();
  await real(from, to);
  if (record && at === 'after-record') die();
};

function die() {
  process.kill(process.pid, 'SIGKILL');
  // Never reached in practice; never let the caller carry on if it were.
  for (;;);
}
// Modules import `rename` by name: update those live bindings too.
syncBuiltinESMExports();
