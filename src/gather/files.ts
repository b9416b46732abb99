import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument, isMap, isScalar, type Pair } from 'yaml';
import type { Problem, SourceItem, Stance } from '../model.js';
import { STANCES } from '../model.js';
import { canonicalUrl, contentHashOf, itemIdOf, ledgerKeyOf } from './ledger.js';
import { decodeBytes } from './encoding.js';
import { htmlToText, sanitizeHtml } from './sanitize.js';

/**
 * Dropped files: `sources/**\/*.md|.txt|.html`, each with an optional YAML front matter block:
 *
 *   ---
 *   title: …          url: https://…      author: …
 *   speakers: [ilya-sutskever]            stance: research|scaling|paradigm|neutral
 *   date: 2025-11-25  primary: true
 *   ---
 *
 * SourceItem.text is the body after the block, character for character (quote offsets index it), or for
 * HTML the text of the sanitized markup.
 */

export const DROPPED_EXTENSIONS = new Set(['.md', '.txt', '.html', '.htm']);
/** Config files and docs that live in sources/ but are not sources. */
const NOT_SOURCES = new Set(['feeds.yaml', 'themes.yaml', 'speakers.yaml', 'settings.yaml', 'readme.md']);

interface FrontMatter {
  title?: string;
  url?: string;
  author?: string;
  speakers?: string[];
  date?: string;
  stance?: Stance;
  primary?: boolean;
}

const FENCE = /^---[ \t]*\r?$/;
const CLOSE = /^(---|\.\.\.)[ \t]*\r?$/;

function problem(relPath: string, line: number, message: string, hint: string): Problem {
  return { code: 'FRONT_MATTER_INVALID', origin: `${relPath}:${line}`, message, hint };
}

/** 1-based line number of a character offset. */
function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Split front matter from body. `body` starts right after the closing fence's newline. */
function splitFrontMatter(contents: string): { yaml: string; yamlStart: number; body: string; closed: boolean } | null {
  const firstNl = contents.indexOf('\n');
  const firstLine = firstNl === -1 ? contents : contents.slice(0, firstNl);
  if (!FENCE.test(firstLine)) return null;
  let pos = firstNl === -1 ? contents.length : firstNl + 1;
  const yamlStart = pos;
  while (pos < contents.length) {
    const nl = contents.indexOf('\n', pos);
    const line = nl === -1 ? contents.slice(pos) : contents.slice(pos, nl);
    if (CLOSE.test(line)) {
      return { yaml: contents.slice(yamlStart, pos), yamlStart, body: nl === -1 ? '' : contents.slice(nl + 1), closed: true };
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
  return { yaml: contents.slice(yamlStart), yamlStart, body: '', closed: false };
}

function isoDate(raw: string): string | null {
  const s = raw.trim();
  // A bare date means that day in UTC, not local midnight: keeps runs deterministic across machines.
  const d = /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(s + 'T00:00:00Z') : new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Parse and validate the front matter; field errors become problems and the field is ignored. */
function readFrontMatter(contents: string, relPath: string, fm: { yaml: string; yamlStart: number }): { data: FrontMatter | null; problems: Problem[]; dateInvalid: boolean } {
  const problems: Problem[] = [];
  const baseLine = lineAt(contents, fm.yamlStart); // line of the first YAML line
  const doc = parseDocument(fm.yaml, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = baseLine + (err.linePos?.[0]?.line ?? 1) - 1;
    problems.push(problem(relPath, line, `front matter is not valid YAML: ${err.message.split('\n')[0]}`,
      'write one `key: value` per line between the two --- lines; quote values that contain a colon, e.g. title: "Scaling: the end?"'));
    return { data: null, problems, dateInvalid: false };
  }
  const contentsNode = doc.contents;
  if (contentsNode === null || (isScalar(contentsNode) && (contentsNode.value === null || contentsNode.value === ''))) {
    return { data: {}, problems, dateInvalid: false };
  }
  if (!isMap(contentsNode)) {
    problems.push(problem(relPath, baseLine, 'front matter is not a mapping of keys to values',
      'write one `key: value` per line between the two --- lines (title, url, author, speakers, date, stance, primary)'));
    return { data: null, problems, dateInvalid: false };
  }
  const data: FrontMatter = {};
  let dateInvalid = false;
  for (const pair of contentsNode.items as Pair[]) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const offset = (isScalar(keyNode) && keyNode.range ? keyNode.range[0] : 0);
    const line = baseLine + lineAt(fm.yaml, offset) - 1;
    const value: unknown = pair.value === null ? null : (pair.value as { toJSON?: () => unknown }).toJSON?.() ?? null;
    const bad = (what: string, hint: string) => problems.push(problem(relPath, line, `front matter "${key}" ${what}`, hint));
    switch (key) {
      case 'title':
      case 'author':
        if (typeof value === 'string' || typeof value === 'number') data[key] = String(value).trim();
        else bad('must be text', `write ${key}: followed by the text on the same line`);
        break;
      case 'url': {
        const c = typeof value === 'string' ? canonicalUrl(value) : null;
        if (c) data.url = c;
        else bad(`is not an http(s) URL: ${JSON.stringify(value)}`, 'write the full address, e.g. url: https://example.org/post');
        break;
      }
      case 'speakers':
        if (typeof value === 'string') data.speakers = [value.trim()];
        else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) data.speakers = value.map((v: string) => v.trim());
        else bad('must be a speaker id or a list of them', 'write speakers: [ilya-sutskever, dwarkesh-patel] with ids from sources/speakers.yaml');
        break;
      case 'date': {
        const iso = typeof value === 'string' ? isoDate(value) : value instanceof Date ? value.toISOString() : null;
        if (iso) data.date = iso;
        else {
          dateInvalid = true;
          bad(`is not a date: ${JSON.stringify(value)}`, 'write date: 2025-11-25 (or a full ISO 8601 timestamp)');
        }
        break;
      }
      case 'stance':
        if (typeof value === 'string' && (STANCES as readonly string[]).includes(value)) data.stance = value as Stance;
        else bad(`must be one of ${STANCES.join(', ')}, not ${JSON.stringify(value)}`, `write stance: ${STANCES.join(' | ')}`);
        break;
      case 'primary':
        if (typeof value === 'boolean') data.primary = value;
        else bad('must be true or false', 'write primary: true for a transcript of what was said, else leave it out');
        break;
      default:
        // Other keys (description, labels, tags…) are common in files saved from elsewhere: ignored quietly.
        break;
    }
  }
  return { data, problems, dateInvalid };
}

function firstNonEmptyLine(text: string): string | null {
  for (const line of text.split('\n')) {
    const t = line.replace(/^#{1,6}\s+/, '').trim();
    if (t !== '') return t.length > 200 ? t.slice(0, 199) + '…' : t;
  }
  return null;
}

export interface ParsedDroppedFile {
  item: SourceItem | null;
  problems: Problem[];
  /**
   * Where item.text starts in `contents` (after the front matter block and any byte-order mark), so a quote's
   * offsets into the text index the file as it is on disk at textOffset + start. Null when there is no item,
   * and for HTML, whose text is that of the sanitized markup rather than a slice of the file.
   */
  textOffset: number | null;
}

/**
 * Parse one dropped file's contents (pure). A front matter block that does not parse makes the file
 * unusable (item null) with a problem naming `file:line`; a bad field is a problem and is ignored.
 */
export function parseDroppedFile(contents: string, relPath: string): ParsedDroppedFile {
  const rel = relPath.split(path.sep).join('/');
  // A byte-order mark is not text anyone quotes.
  const src = contents.startsWith('\uFEFF') ? contents.slice(1) : contents;
  const fm = splitFrontMatter(src);
  let body = src;
  let data: FrontMatter = {};
  let dateInvalid = false;
  const problems: Problem[] = [];
  if (fm) {
    if (!fm.closed) {
      problems.push(problem(rel, 1, 'front matter opened with --- on line 1 is never closed',
        'add a line containing only --- after the last front matter line (or remove the first --- if the file has no front matter)'));
      return { item: null, problems, textOffset: null };
    }
    const parsed = readFrontMatter(src, rel, fm);
    problems.push(...parsed.problems);
    if (parsed.data === null) return { item: null, problems, textOffset: null };
    data = parsed.data;
    dateInvalid = parsed.dateInvalid;
    body = fm.body;
  }
  const ext = path.extname(rel).toLowerCase();
  let text: string;
  let html: string | null = null;
  if (ext === '.html' || ext === '.htm') {
    html = sanitizeHtml(body, data.url);
    text = htmlToText(html);
  } else {
    text = body;
  }
  const title = data.title || firstNonEmptyLine(text) || path.basename(rel);
  const url = data.url ?? null;
  const contentHash = contentHashOf(text);
  const key = ledgerKeyOf({ url, guid: null, file: rel, title, text, contentHash });
  const item: SourceItem = {
    id: itemIdOf(key),
    kind: 'file',
    sourceId: rel,
    origin: rel,
    url,
    links: url ? [url] : [],
    guid: null,
    title,
    author: data.author ?? null,
    date: data.date ?? null,
    dateProblem: data.date ? null : dateInvalid ? 'invalid' : 'missing',
    speakers: data.speakers ?? [],
    stance: data.stance ?? null,
    primary: data.primary ?? false,
    text,
    html,
    contentHash,
  };
  // The body is a suffix of the file (splitFrontMatter slices it off the end), so its start is the difference.
  return { item, problems, textOffset: html === null ? contents.length - body.length : null };
}

/** Every dropped file under sourcesDir, relative paths with forward slashes, sorted. */
export async function listDroppedFiles(sourcesDir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, rel: string, depth: number): Promise<void> {
    if (depth > 12) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(full, relPath, depth + 1);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (NOT_SOURCES.has(e.name.toLowerCase())) continue;
        if (!DROPPED_EXTENSIONS.has(path.extname(e.name).toLowerCase())) continue;
        if (e.isSymbolicLink()) {
          const st = await stat(full).catch(() => null);
          if (!st?.isFile()) continue;
        }
        out.push(relPath);
      }
    }
  }
  await walk(sourcesDir, '', 0);
  return out.sort();
}

/** A dropped file larger than this is refused (a transcript of a 3-hour podcast is about 200 KB). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** Read and parse every dropped file; one unreadable or broken file never stops the others. */
export async function readDroppedFiles(sourcesDir: string, opts: { maxBytes?: number } = {}): Promise<{ items: SourceItem[]; problems: Problem[] }> {
  const maxBytes = opts.maxBytes ?? MAX_FILE_BYTES;
  const items: SourceItem[] = [];
  const problems: Problem[] = [];
  for (const rel of await listDroppedFiles(sourcesDir)) {
    let contents: string;
    try {
      const size = (await stat(path.join(sourcesDir, rel))).size;
      if (size > maxBytes) {
        problems.push({ code: 'FILE_UNREADABLE', origin: rel, message: `${rel} is ${size} bytes, more than the ${maxBytes}-byte limit for a dropped file`, hint: 'split the file, or keep only the part worth quoting' });
        continue;
      }
      const bytes = await readFile(path.join(sourcesDir, rel));
      contents = decodeBytes(bytes, null, rel.toLowerCase().endsWith('html') ? 'html' : 'text').text;
    } catch (err) {
      problems.push({ code: 'FILE_UNREADABLE', origin: rel, message: `cannot read ${rel}: ${(err as Error).message}`, hint: 'check the file permissions, or remove the file from sources/' });
      continue;
    }
    const parsed = parseDroppedFile(contents, rel);
    problems.push(...parsed.problems);
    if (parsed.item) items.push(parsed.item);
  }
  return { items, problems };
}
