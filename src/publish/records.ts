import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '../model.js';
import { readDigestRecords } from '../render/archive.js';

/** Every record in digestsDir, oldest first (by number). Checked by the archive's parser, which names the
 *  file and the field of anything malformed (RECORD_INVALID). */
export async function readRecords(digestsDir: string): Promise<Digest[]> {
  return (await readDigestRecords(digestsDir)).digests.sort((a, b) => a.number - b.number);
}

/** Write a file atomically (temp file + rename), so a crash never leaves half a record. */
export async function writeFileAtomic(file: string, contents: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

export async function writeRecord(digestsDir: string, digest: Digest): Promise<string> {
  const file = path.join(digestsDir, `${digest.id}.json`);
  await writeFileAtomic(file, `${JSON.stringify(digest, null, 2)}\n`);
  return file;
}
