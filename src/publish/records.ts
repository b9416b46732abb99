import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DigestError } from '../errors.js';
import type { Digest } from '../model.js';

/** Issue records are `digests/<yyyy-mm-dd>-<n>.json`; everything else in digests/ (ledgers) is not a record. */
export const RECORD_NAME = /^(\d{4}-\d{2}-\d{2})-(\d+)\.json$/;

/** Check the parts of a record every renderer relies on, so a hand-edited file fails with its name. */
export function parseRecord(json: string, origin: string): Digest {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new DigestError('RECORD_INVALID', `not valid JSON: ${(err as Error).message}`, {
      origin,
      hint: 'restore the file from git (`git checkout -- <file>`); records are written by `digest make`, not by hand',
      cause: err,
    });
  }
  const d = data as Partial<Digest>;
  const missing = (['id', 'number', 'date', 'slot', 'title', 'subject', 'sections'] as const).filter((k) => d[k] === undefined);
  if (d.schema !== 1 || missing.length)
    throw new DigestError('RECORD_INVALID', d.schema !== 1 ? `unknown record schema ${String(d.schema)}` : `missing ${missing.join(', ')}`, {
      origin,
      hint: 'restore the file from git; records are written by `digest make`',
    });
  return d as Digest;
}

/** Every record in digestsDir, oldest first (by number). */
export async function readRecords(digestsDir: string): Promise<Digest[]> {
  let names: string[];
  try {
    names = await readdir(digestsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const records: Digest[] = [];
  for (const name of names.filter((n) => RECORD_NAME.test(n))) {
    const file = path.join(digestsDir, name);
    records.push(parseRecord(await readFile(file, 'utf8'), file));
  }
  return records.sort((a, b) => a.number - b.number);
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
