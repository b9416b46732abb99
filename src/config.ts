import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { foldTypography } from './analyze/paragraphs.js';
import { DigestError } from './errors.js';
import type {
  AnalyzeConfig, Config, EditorPair, EmailConfig, FeedConfig, GatherConfig, SiteConfig, SpeakerConfig, Stance, ThemeConfig,
} from './model.js';
import { STANCES } from './model.js';

/**
 * Configuration lives in sources/ as four YAML files: feeds.yaml, themes.yaml and speakers.yaml (required) and
 * settings.yaml (optional: site, email, gather, analyze). What the user wrote is loose; `parseConfig` turns it
 * into the normalized Config (every field set) in one place, and every message names `file:line` and the fix.
 */

export const CONFIG_FILES = ['feeds.yaml', 'themes.yaml', 'speakers.yaml', 'settings.yaml'] as const;
const REQUIRED = new Set(['feeds.yaml', 'themes.yaml', 'speakers.yaml']);

export const PROJECT_URL = 'https://github.com/debate-digest/debate-digest';

export const DEFAULT_SITE: SiteConfig = {
  title: 'Debate Digest: the age of scaling or the age of research?',
  description:
    'What was said, by whom, and what the other side answered: a themed digest of the debate over whether AI has left the age of scaling for an age of research.',
  url: 'https://example.github.io',
  basePath: '/',
  language: 'en',
  timeZone: 'UTC',
  author: 'debate-digest editors',
  subscribeUrl: null,
};

export const DEFAULT_EMAIL: EmailConfig = {
  from: 'Debate Digest <digest@example.org>',
  replyTo: null,
  listId: 'debate-digest.example.org',
  unsubscribeUrl: null,
  unsubscribeMailto: 'unsubscribe@example.org',
  senderLine: 'Debate Digest · an open-source digest · example.org',
  maxHtmlBytes: 90_000,
  rateLimitPerSecond: 0,
};

export const DEFAULT_GATHER: GatherConfig = {
  timeoutMs: 20_000,
  connectTimeoutMs: 5_000,
  maxBytes: 5 * 1024 * 1024,
  maxItemsPerFeed: 200,
  maxRedirects: 5,
  backfillDays: 30,
  allowPrivateHosts: [],
  perHostConcurrency: 4,
  userAgent: `debate-digest/0.1 (+${PROJECT_URL})`,
  failingAfterRuns: 3,
};

export const DEFAULT_ANALYZE: AnalyzeConfig = {
  attributionThreshold: 0.6,
  counterpointThreshold: 0.35,
  maxQuotes: 24,
  maxQuotesPerTheme: 4,
};

/** The raw text of each config file, by name; a missing optional file is undefined. */
export type ConfigTexts = Partial<Record<(typeof CONFIG_FILES)[number], string>>;

/** Read sources/*.yaml. A missing required file is CONFIG_MISSING naming the file and what to put in it. */
export async function readConfig(sourcesDir: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  const texts: ConfigTexts = {};
  for (const name of CONFIG_FILES) {
    const file = path.join(sourcesDir, name);
    try {
      texts[name] = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (REQUIRED.has(name)) {
        throw new DigestError('CONFIG_MISSING', `${name} is missing`, {
          origin: file,
          hint: `create ${file} (see README "Configuration"; the shipped sources/${name} is a working example)`,
        });
      }
    }
  }
  return withEnvOverrides(parseConfig(texts, sourcesDir), env);
}

/**
 * Where the archive is served is known only at deploy time (GitHub Pages reports it), so SITE_URL and
 * SITE_PATH_PREFIX override settings.yaml's site.url and site.basePath.
 */
export function withEnvOverrides(config: Config, env: NodeJS.ProcessEnv): Config {
  const site = { ...config.site };
  if (env.SITE_URL) {
    let u: URL;
    try {
      u = new URL(env.SITE_URL);
    } catch {
      throw new DigestError('CONFIG_INVALID', `SITE_URL "${env.SITE_URL}" is not a URL`, { origin: 'environment', hint: 'set SITE_URL to the https address the archive is served from' });
    }
    site.url = u.origin;
    // A Pages base_url carries the project path (https://user.github.io/repo): take it as the base path.
    if (u.pathname !== '/' && !env.SITE_PATH_PREFIX) site.basePath = u.pathname;
  }
  if (env.SITE_PATH_PREFIX) site.basePath = env.SITE_PATH_PREFIX;
  if (!site.basePath.startsWith('/')) site.basePath = `/${site.basePath}`;
  if (!site.basePath.endsWith('/')) site.basePath = `${site.basePath}/`;
  return { ...config, site };
}

/** A YAML file parsed with line numbers, so validation can say `file:line`. */
class YamlFile {
  readonly lines = new LineCounter();
  readonly doc: Document;
  constructor(readonly file: string, text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const first = this.doc.errors[0];
    if (first) {
      const line = this.lines.linePos(first.pos[0]).line;
      throw new DigestError('CONFIG_INVALID', `not valid YAML: ${first.message.split('\n')[0]}`, {
        origin: `${file}:${line}`,
        hint: 'fix the YAML syntax at that line (indentation with spaces, a space after each colon, quotes around values containing ": ")',
        cause: first,
      });
    }
  }
  /** Line of the node at a path like ['feeds', 3, 'url'], falling back to its nearest parent. */
  lineOf(keys: (string | number)[]): number {
    for (let n = keys.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(keys.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return 1;
  }
  fail(keys: (string | number)[], what: string, hint: string): never {
    const label = keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
    throw new DigestError('CONFIG_INVALID', `${label}: ${what}`, { origin: `${this.file}:${this.lineOf(keys)}`, hint });
  }
  json(): unknown {
    return this.doc.toJS();
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Small typed readers that fail with the file, line and a fix. */
function reader(y: YamlFile) {
  const str = (o: Obj, keys: (string | number)[], key: string, dflt?: string): string => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      y.fail([...keys, key], 'is required', `add \`${key}: …\``);
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string' || v.trim() === '') y.fail([...keys, key], 'must be a non-empty string', `write \`${key}: some text\``);
    return v.trim();
  };
  const strList = (o: Obj, keys: (string | number)[], key: string): string[] => {
    const v = o[key];
    if (v === undefined || v === null) return [];
    const arr = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(arr) || arr.some((x) => typeof x !== 'string' && typeof x !== 'number'))
      y.fail([...keys, key], 'must be a list of strings', `write \`${key}: [one, two]\``);
    return (arr as unknown[]).map((x) => String(x).trim()).filter(Boolean);
  };
  const bool = (o: Obj, keys: (string | number)[], key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') y.fail([...keys, key], 'must be true or false', `write \`${key}: true\` or \`${key}: false\``);
    return v;
  };
  const num = (o: Obj, keys: (string | number)[], key: string, dflt: number, min = 0): number => {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
      y.fail([...keys, key], `must be a number ≥ ${min}`, `write \`${key}: ${dflt}\` (the default)`);
    return v;
  };
  const stance = (o: Obj, keys: (string | number)[], key: string): Stance => {
    const v = o[key] ?? 'neutral';
    if (typeof v !== 'string' || !(STANCES as readonly string[]).includes(v))
      y.fail([...keys, key], `must be one of ${STANCES.join(', ')}`, `write \`${key}: neutral\` if unsure`);
    return v as Stance;
  };
  const url = (o: Obj, keys: (string | number)[], key: string, schemes: string[], dflt?: string | null): string | null => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      y.fail([...keys, key], 'is required', `add \`${key}: https://…\``);
    }
    let parsed: URL | null = null;
    try {
      parsed = new URL(String(v));
    } catch {
      /* reported below */
    }
    if (!parsed || !schemes.includes(parsed.protocol))
      y.fail([...keys, key], `not a URL (${schemes.join(' or ')})`, `write a full address such as https://example.org/feed.xml`);
    return String(v);
  };
  const list = (root: unknown, key: string): Obj[] => {
    if (!isObj(root) || !(key in root)) y.fail([key], `top-level \`${key}:\` list is missing`, `start the file with \`${key}:\` followed by a list of entries (- …)`);
    const v = (root as Obj)[key];
    if (v === null) return [];
    if (!Array.isArray(v)) y.fail([key], 'must be a list', `write each entry on its own line starting with "- "`);
    return (v as unknown[]).map((e, i) => {
      if (!isObj(e)) y.fail([key, i], 'must be a mapping of fields', 'indent the fields of each entry under its "- "');
      return e;
    });
  };
  const section = (root: unknown, key: string): Obj => {
    if (!isObj(root) || root[key] === undefined || root[key] === null) return {};
    const v = root[key];
    if (!isObj(v)) y.fail([key], 'must be a mapping', `indent the fields under \`${key}:\``);
    return v;
  };
  return { str, strList, bool, num, stance, url, list, section };
}

/** `analyze.pairs`: counterpoints set by hand, each a quote's opening words and the answering words. */
function editorPairs(y: YamlFile, a: Obj): EditorPair[] {
  const v = a.pairs;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) y.fail(['analyze', 'pairs'], 'must be a list', 'write each pair as "- quote: …" with "counter: …" under it');
  const r = reader(y);
  return (v as unknown[]).map((e, i) => {
    const keys = ['analyze', 'pairs', i];
    if (!isObj(e)) y.fail(keys, 'must be a mapping with quote and counter', 'write "- quote: <the start of the key quote>" and "counter: <the answering words>" under it');
    const pair = { quote: r.str(e, keys, 'quote'), counter: r.str(e, keys, 'counter'), origin: `${y.file}:${y.lineOf(keys)}` };
    for (const k of ['quote', 'counter'] as const) {
      if (pair[k].split(/\s+/).length < 4) y.fail([...keys, k], 'needs at least four words to be found unambiguously', `copy more of the ${k === 'quote' ? 'key quote' : 'answer'} from its source`);
    }
    return pair;
  }).map((pair, i, all) => {
    // Two pairs for one quote (the same opening, in either kind of apostrophe or spacing, or one opening the
    // other): the later would silently replace the earlier.
    const fold = (t: string) => foldTypography(t).toLowerCase();
    const first = all.findIndex((o) => fold(o.quote).startsWith(fold(pair.quote)) || fold(pair.quote).startsWith(fold(o.quote)));
    if (first !== i) y.fail(['analyze', 'pairs', i, 'quote'], `the same quote as pair ${first + 1} (${all[first]!.origin})`, 'keep one pair per quote: remove this one or the other');
    return pair;
  });
}

const slug = (s: string) => s.toLowerCase().normalize('NFKD').replace(/[^\w\s-]/g, '').trim().replace(/[\s_]+/g, '-').replace(/-+/g, '-');

function uniqueIds<T extends { id: string }>(y: YamlFile, key: string, entries: T[]): T[] {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const prev = seen.get(e.id);
    if (prev !== undefined) y.fail([key, i, 'id'], `duplicate id "${e.id}" (also ${key}[${prev}])`, 'give each entry its own id');
    seen.set(e.id, i);
  });
  return entries;
}

/** Validate and normalize the four config texts. `dir` is only used to name files in errors. */
export function parseConfig(texts: ConfigTexts, dir = 'sources'): Config {
  const at = (name: string) => path.join(dir, name);

  const fy = new YamlFile(at('feeds.yaml'), texts['feeds.yaml'] ?? 'feeds: []');
  const fr = reader(fy);
  const feeds: FeedConfig[] = uniqueIds(fy, 'feeds', fr.list(fy.json(), 'feeds').map((f, i) => {
    const k: (string | number)[] = ['feeds', i];
    const url = fr.url(f, k, 'url', ['http:', 'https:']) as string;
    const u = new URL(url);
    return {
      id: f.id === undefined ? slug(`${u.host}${u.pathname}`) : slug(fr.str(f, k, 'id')),
      url,
      title: fr.str(f, k, 'title', u.host),
      stance: fr.stance(f, k, 'stance'),
      speakers: fr.strList(f, k, 'speakers'),
      primary: fr.bool(f, k, 'primary', false),
    };
  }));

  const ty = new YamlFile(at('themes.yaml'), texts['themes.yaml'] ?? 'themes: []');
  const tr = reader(ty);
  const themes: ThemeConfig[] = uniqueIds(ty, 'themes', tr.list(ty.json(), 'themes').map((t, i) => {
    const k: (string | number)[] = ['themes', i];
    const title = tr.str(t, k, 'title');
    const cues = tr.strList(t, k, 'cues');
    if (cues.length === 0) ty.fail([...k, 'cues'], 'needs at least one cue', 'add `cues: [word, another phrase]` so quotes can be matched to the theme');
    return { id: t.id === undefined ? slug(title) : slug(tr.str(t, k, 'id')), title, description: tr.str(t, k, 'description', ''), cues };
  }));
  if (themes.length === 0) ty.fail(['themes'], 'needs at least one theme', 'add a theme with an id, a title and cues');

  const sy = new YamlFile(at('speakers.yaml'), texts['speakers.yaml'] ?? 'speakers: []');
  const sr = reader(sy);
  const speakers: SpeakerConfig[] = uniqueIds(sy, 'speakers', sr.list(sy.json(), 'speakers').map((s, i) => {
    const k: (string | number)[] = ['speakers', i];
    const name = sr.str(s, k, 'name');
    return {
      id: s.id === undefined ? slug(name) : slug(sr.str(s, k, 'id')),
      name,
      aliases: sr.strList(s, k, 'aliases'),
      role: sr.str(s, k, 'role', ''),
      stance: sr.stance(s, k, 'stance'),
      interviewer: sr.bool(s, k, 'interviewer', false),
    };
  }));
  const speakerIds = new Set(speakers.map((s) => s.id));
  feeds.forEach((f, i) =>
    f.speakers.forEach((id) => {
      if (!speakerIds.has(id))
        fy.fail(['feeds', i, 'speakers'], `unknown speaker "${id}"`, `use an id from speakers.yaml (${[...speakerIds].slice(0, 4).join(', ')}, …) or add the speaker there`);
    }),
  );

  const gy = new YamlFile(at('settings.yaml'), texts['settings.yaml'] ?? '{}');
  const gr = reader(gy);
  const root = gy.json() ?? {};
  if (!isObj(root)) gy.fail([], 'must be a mapping with site, email, gather and analyze sections', 'see README "Configuration"');
  const s = gr.section(root, 'site');
  const e = gr.section(root, 'email');
  const g = gr.section(root, 'gather');
  const a = gr.section(root, 'analyze');
  let basePath = gr.str(s, ['site'], 'basePath', DEFAULT_SITE.basePath);
  if (!basePath.startsWith('/')) basePath = `/${basePath}`;
  if (!basePath.endsWith('/')) basePath = `${basePath}/`;
  const timeZone = gr.str(s, ['site'], 'timeZone', DEFAULT_SITE.timeZone);
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    gy.fail(['site', 'timeZone'], `unknown time zone "${timeZone}"`, 'use an IANA name such as UTC, Europe/Paris or America/New_York');
  }
  const site: SiteConfig = {
    title: gr.str(s, ['site'], 'title', DEFAULT_SITE.title),
    description: gr.str(s, ['site'], 'description', DEFAULT_SITE.description),
    url: (gr.url(s, ['site'], 'url', ['http:', 'https:'], DEFAULT_SITE.url) as string).replace(/\/+$/, ''),
    basePath,
    language: gr.str(s, ['site'], 'language', DEFAULT_SITE.language),
    timeZone,
    author: gr.str(s, ['site'], 'author', DEFAULT_SITE.author),
    subscribeUrl: gr.url(s, ['site'], 'subscribeUrl', ['http:', 'https:'], null),
  };
  const email: EmailConfig = {
    from: gr.str(e, ['email'], 'from', DEFAULT_EMAIL.from),
    replyTo: e.replyTo == null ? null : gr.str(e, ['email'], 'replyTo'),
    listId: gr.str(e, ['email'], 'listId', DEFAULT_EMAIL.listId),
    unsubscribeUrl: gr.url(e, ['email'], 'unsubscribeUrl', ['https:', 'http:'], null),
    unsubscribeMailto: e.unsubscribeMailto == null ? DEFAULT_EMAIL.unsubscribeMailto : gr.str(e, ['email'], 'unsubscribeMailto'),
    senderLine: gr.str(e, ['email'], 'senderLine', DEFAULT_EMAIL.senderLine),
    maxHtmlBytes: gr.num(e, ['email'], 'maxHtmlBytes', DEFAULT_EMAIL.maxHtmlBytes, 10_000),
    rateLimitPerSecond: gr.num(e, ['email'], 'rateLimitPerSecond', DEFAULT_EMAIL.rateLimitPerSecond),
  };
  const gather: GatherConfig = {
    timeoutMs: gr.num(g, ['gather'], 'timeoutMs', DEFAULT_GATHER.timeoutMs, 100),
    connectTimeoutMs: gr.num(g, ['gather'], 'connectTimeoutMs', DEFAULT_GATHER.connectTimeoutMs, 100),
    maxBytes: gr.num(g, ['gather'], 'maxBytes', DEFAULT_GATHER.maxBytes, 1024),
    maxItemsPerFeed: gr.num(g, ['gather'], 'maxItemsPerFeed', DEFAULT_GATHER.maxItemsPerFeed, 1),
    maxRedirects: gr.num(g, ['gather'], 'maxRedirects', DEFAULT_GATHER.maxRedirects),
    backfillDays: gr.num(g, ['gather'], 'backfillDays', DEFAULT_GATHER.backfillDays),
    allowPrivateHosts: gr.strList(g, ['gather'], 'allowPrivateHosts'),
    perHostConcurrency: gr.num(g, ['gather'], 'perHostConcurrency', DEFAULT_GATHER.perHostConcurrency, 1),
    userAgent: gr.str(g, ['gather'], 'userAgent', DEFAULT_GATHER.userAgent),
    failingAfterRuns: gr.num(g, ['gather'], 'failingAfterRuns', DEFAULT_GATHER.failingAfterRuns, 1),
  };
  const analyze: AnalyzeConfig = {
    attributionThreshold: gr.num(a, ['analyze'], 'attributionThreshold', DEFAULT_ANALYZE.attributionThreshold),
    counterpointThreshold: gr.num(a, ['analyze'], 'counterpointThreshold', DEFAULT_ANALYZE.counterpointThreshold),
    maxQuotes: gr.num(a, ['analyze'], 'maxQuotes', DEFAULT_ANALYZE.maxQuotes, 1),
    maxQuotesPerTheme: gr.num(a, ['analyze'], 'maxQuotesPerTheme', DEFAULT_ANALYZE.maxQuotesPerTheme, 1),
    pairs: editorPairs(gy, a),
  };
  return { site, email, feeds, themes, speakers, gather, analyze };
}
