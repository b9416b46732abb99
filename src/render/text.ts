/**
 * The plain-text part of the email: its own Handlebars template (templates/email/digest.txt.hbs), not the
 * HTML run through a converter, so it reads well in a text-only client. Links are numbered [n] and listed
 * at the end. Pure: takes the view built by email.ts.
 */
import type { EmailView } from './email.js';
import { compiledTemplates } from './email.js';

/** Columns a plain-text line is wrapped at (the usual 72, leaving room for quoting in replies). */
export const TEXT_WIDTH = 72;

/**
 * Wrap one line at word boundaries, continuing at its own indentation (one more column inside a quotation
 * mark, so the text lines up). A single word longer than the width (a URL) stays whole on its own line.
 */
export function wrapLine(line: string, width = TEXT_WIDTH): string {
  if (line.length <= width) return line;
  const indent = /^\s*/.exec(line)![0];
  const body = line.slice(indent.length);
  const cont = indent + (/^["“]/.test(body) ? ' ' : /^— /.test(body) ? '  ' : '');
  const out: string[] = [];
  let cur = indent;
  for (const word of body.split(/ +/)) {
    const lead = out.length === 0 && cur === indent;
    if (!lead && cur.length + 1 + word.length > width && cur.trim() !== '') {
      out.push(cur);
      cur = cont + word;
    } else cur = lead ? indent + word : `${cur} ${word}`;
  }
  out.push(cur);
  return out.join('\n');
}

/** Render the plain-text part from an email view (the unsubscribe URL is still the placeholder). */
export function renderText(view: EmailView): string {
  const { text } = compiledTemplates();
  const out = text(view);
  // Templates leave blank-line runs where optional blocks were skipped; clients show them literally.
  const tidy = out.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
  // A link line stays whole: "[3] https://…" split after "[3]" would read as a dangling reference.
  const isLinkLine = (l: string) => /^(\[\d+\]|Unsubscribe:|Read on the web:) \S+$/.test(l);
  return tidy.split('\n').map((l) => (isLinkLine(l) ? l : wrapLine(l))).join('\n') + '\n';
}
