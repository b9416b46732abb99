/**
 * The sending step's side of `GET /export`: the active list from a running subscription service.
 *
 *   SUBSCRIBERS_URL  the service's export URL, e.g. https://subs.example.org/export
 *   EXPORT_TOKEN     the bearer token the service was started with
 *
 * A send must not go out to a list it could not read: every failure is a DigestError, never an empty list.
 */
import { DigestError, redactUrl } from '../errors.js';
import type { Problem, Subscriber } from '../model.js';
import { parseSubscribers } from '../deliver/subscribers.js';

export async function readExportedSubscribers(
  env: NodeJS.ProcessEnv,
  listId: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ subscribers: Subscriber[]; problems: Problem[]; origin: string }> {
  const url = (env.SUBSCRIBERS_URL ?? '').trim();
  const origin = redactUrl(url);
  if (!url) throw new DigestError('ENV_MISSING', 'SUBSCRIBERS_URL is not set', { origin: 'env SUBSCRIBERS_URL', hint: 'set SUBSCRIBERS_URL to the service\'s export URL, e.g. https://subs.example.org/export' });
  const token = (env.EXPORT_TOKEN ?? '').trim();
  if (!token) throw new DigestError('ENV_MISSING', 'EXPORT_TOKEN is not set', { origin: 'env EXPORT_TOKEN', hint: 'set EXPORT_TOKEN to the token the subscription service was started with' });
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/csv' }, redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000) });
  } catch (err) {
    throw new DigestError('SUBSCRIBERS_UNAVAILABLE', `cannot reach the subscription service: ${(err as Error).message}`, { origin, hint: 'check SUBSCRIBERS_URL and that `digest serve` is running; nobody was sent anything', cause: err });
  }
  const text = await res.text();
  if (res.status !== 200) {
    throw new DigestError('SUBSCRIBERS_UNAVAILABLE', `the subscription service answered ${res.status}`, {
      origin,
      hint: res.status === 401 ? 'EXPORT_TOKEN differs from the one the service was started with' : res.status === 404 ? 'the service has export disabled (start it with EXPORT_TOKEN set) or SUBSCRIBERS_URL does not end in /export' : 'see the service\'s log',
    });
  }
  // An HTML page from a proxy or a login wall would otherwise be read as a list of (invalid) addresses.
  if (!/^email\r?\n/.test(text)) {
    throw new DigestError('SUBSCRIBERS_UNAVAILABLE', 'the export is not the CSV the service writes (no "email" header line)', { origin, hint: 'SUBSCRIBERS_URL must point at the service\'s /export' });
  }
  return { ...parseSubscribers(text, origin, listId), origin };
}
