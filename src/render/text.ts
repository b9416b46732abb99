/**
 * The plain-text part of the email: its own Handlebars template (templates/email/digest.txt.hbs), not the
 * HTML run through a converter, so it reads well in a text-only client. Links are numbered [n] and listed
 * at the end. Pure: takes the view built by email.ts.
 */
import type { EmailView } from './email.js';
import { compiledTemplates } from './email.js';

/** Render the plain-text part from an email view (the unsubscribe URL is still the placeholder). */
export function renderText(view: EmailView): string {
  const { text } = compiledTemplates();
  const out = text(view);
  // Templates leave blank-line runs where optional blocks were skipped; clients show them literally.
  return out.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim() + '\n';
}
