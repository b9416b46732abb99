/**
 * The service's few HTML pages. No scripts, no external resources (the CSP forbids both), forms post to
 * relative URLs so the service works behind a reverse proxy at any path.
 */

// The archive's escaper (also drops characters HTML cannot carry): one escaping rule for every page we serve.
import { escapeHtml } from '../render/helpers.js';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.4rem}button{font:inherit;padding:.5rem 1rem;cursor:pointer}input{font:inherit;padding:.4rem}
.muted{color:#555;font-size:.9rem}`;

export interface PageOptions {
  lang: string;
  siteTitle: string;
  siteUrl: string;
}

/** A whole page; `bodyHtml` is trusted markup built from escaped parts. */
export function page(o: PageOptions, title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(o.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · ${escapeHtml(o.siteTitle)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${bodyHtml}
</main>
<p class="muted"><a href="${escapeHtml(o.siteUrl)}">${escapeHtml(o.siteTitle)}</a></p>
</body>
</html>
`;
}

export const p = (text: string, cls?: string) => `<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`;

/** The subscribe form (GET /): the same field the archive's /subscribe/ page posts. */
export function subscribeForm(): string {
  return `<form method="post" action="subscribe">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Subscribe</button>
</form>
${p('You will get a message with a link to confirm. Nothing is sent until you confirm.', 'muted')}`;
}

/** GET /confirm: a button, because only a POST may change a subscription (mail scanners follow links). */
export function confirmForm(token: string, masked: string): string {
  return `${p(`Confirm the subscription of ${masked}?`)}
<form method="post" action="confirm">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Confirm subscription</button>
</form>`;
}

/** GET /unsubscribe: a button posting the RFC 8058 body to the same URL. */
export function unsubscribeForm(token: string, masked: string): string {
  return `${p(`Unsubscribe ${masked} from this list?`)}
<form method="post" action="unsubscribe?token=${encodeURIComponent(token)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`;
}
