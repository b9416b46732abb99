import type { Problem } from './model.js';

/**
 * Every error we raise says what went wrong, where (a file and line, or a feed URL without credentials) and
 * what to do. `code` is permanent: scripts and tests branch on it, so never rename one (test/errors.test.ts).
 */
export const ERROR_CODES = {
  CONFIG_MISSING: 'a required configuration file is missing',
  CONFIG_INVALID: 'a configuration file does not parse or does not validate',
  ENV_MISSING: 'a required environment variable is not set',
  USAGE: 'the command line is not understood',
  FEED_FETCH_FAILED: 'a feed could not be fetched',
  FEED_TIMEOUT: 'a feed did not answer in time',
  FEED_TOO_LARGE: 'a feed is larger than the size cap',
  FEED_BLOCKED_ADDRESS: 'a feed URL resolves to a private, loopback or link-local address',
  FEED_TOO_MANY_REDIRECTS: 'a feed redirects too many times or in a loop',
  FEED_HTTP_STATUS: 'a feed answered with an HTTP error',
  FEED_RATE_LIMITED: 'a feed asked us to come back later (429/503)',
  FEED_PARSE_FAILED: 'a feed is not well-formed RSS, Atom or RDF',
  FEED_ENTITY_REJECTED: 'a feed declares entities (possible entity-expansion or external-entity attack)',
  FEED_ITEMS_CAPPED: 'a feed has more items than gather.maxItemsPerFeed; the rest were not read',
  FEED_DATE_INVALID: 'some feed items have a date that does not parse; they are kept without a date',
  SOURCE_FAILING: 'a source has failed several runs in a row (gather.failingAfterRuns)',
  FILE_UNREADABLE: 'a dropped file could not be read',
  FRONT_MATTER_INVALID: 'a dropped file has a front matter block that does not parse',
  NOTHING_USABLE: 'no source produced anything usable',
  RECORD_INVALID: 'a digest record in digests/ does not parse',
  RENDER_FAILED: 'the email or archive could not be rendered',
  SITE_BUILD_FAILED: 'the Eleventy build failed',
  SUBSCRIBERS_INVALID: 'the subscriber list has an invalid line',
  SUBSCRIBERS_UNAVAILABLE: 'the subscription service did not return the subscriber list',
  SMTP_AUTH_FAILED: 'the SMTP server refused our credentials',
  SMTP_UNREACHABLE: 'the SMTP server could not be reached',
  SMTP_TLS_FAILED: "the SMTP server's TLS certificate was not accepted (expired, self-signed or for another host)",
  SMTP_CLIENT_UNSUPPORTED: 'the installed nodemailer is not the version the smtp transport was written for (its connection internals differ)',
  SEND_ABORTED: 'too many sends failed, the run stopped',
  LEDGER_CORRUPT: 'a ledger file in digests/ does not parse',
  LEDGER_HEALED: 'a run stopped between writing an issue record and the seen ledger; this run settled the ledger',
  PAIR_QUOTE_NOT_FOUND: 'a counterpoint set by hand names a quote no source holds',
  PAIR_COUNTER_NOT_FOUND: 'a counterpoint set by hand names an answer no source holds',
  PAIR_QUOTE_AMBIGUOUS: 'a counterpoint set by hand opens more than one key quote',
  ISSUE_NOT_FOUND: 'the issue asked for does not exist',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DigestError extends Error {
  readonly code: ErrorCode;
  readonly origin: string;
  readonly hint: string;
  /** 2 for usage and configuration errors, 1 for everything else (the CLI's exit code). */
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, opts: { origin?: string; hint: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DigestError';
    this.code = code;
    this.origin = opts.origin ?? '';
    this.hint = opts.hint;
    this.exitCode = code === 'CONFIG_MISSING' || code === 'CONFIG_INVALID' || code === 'USAGE' || code === 'ENV_MISSING' ? 2 : 1;
  }

  /** As a non-fatal problem for the run report. */
  toProblem(): Problem {
    return { code: this.code, origin: this.origin, message: this.message, hint: this.hint };
  }

  /** The form printed by the CLI: `error CODE at origin: message \n  hint: …`. */
  format(): string {
    const where = this.origin ? ` at ${this.origin}` : '';
    return `error ${this.code}${where}: ${this.message}\n  hint: ${this.hint}`;
  }
}

/** Turn anything thrown into a Problem, keeping DigestError's code and hint. */
export function toProblem(err: unknown, origin: string, fallback: ErrorCode, hint: string): Problem {
  if (err instanceof DigestError) return err.toProblem();
  const message = err instanceof Error ? err.message : String(err);
  return { code: fallback, origin, message, hint };
}

/** Remove user:password@ and credential-looking query parameters from a URL before printing it. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(/\/\/[^/@\s]*@/, '//');
  }
  url.username = '';
  url.password = '';
  for (const key of [...url.searchParams.keys()]) {
    if (/^(token|key|apikey|api_key|access_token|secret|password|pass|auth|sig|signature)$/i.test(key)) {
      url.searchParams.set(key, 'REDACTED');
    }
  }
  return url.toString();
}
