import type { Problem, RunReport, SourceHealth } from './model.js';

/** The one summary line the CLI prints at the end of a run. */
export function summaryLine(r: RunReport): string {
  const parts = [
    r.issue ? `issue #${r.issue.number} (${r.issue.id})` : 'no issue',
    `${r.gathered} items gathered, ${r.newItems} new`,
    `${r.quotes} quotes`,
    `${r.themes} themes`,
    `${r.pages} pages`,
  ];
  if (r.delivery) parts.push(`${r.delivery.written} messages written, ${r.delivery.sent} sent${r.delivery.failed ? `, ${r.delivery.failed} failed` : ''}`);
  parts.push(`${r.problems.length} ${r.problems.length === 1 ? 'problem' : 'problems'}`);
  const head = !r.ok ? 'failed' : r.nothingNew && !r.quotes ? 'nothing new' : 'done';
  return `${r.dryRun ? 'dry run ' : ''}${head}: ${parts.join(' · ')}`;
}

export function problemLines(problems: Problem[]): string[] {
  return problems.map((p) => `problem ${p.code} at ${p.origin}: ${p.message}\n  hint: ${p.hint}`);
}

const healthIcon = (h: SourceHealth) => (h.status === 'failed' ? '✗' : h.status === 'new' ? '✓' : '·');
const md = (s: string) => s.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');

/** Markdown for $GITHUB_STEP_SUMMARY: the issue link, counts, source health and problems. No addresses. */
export function summaryMarkdown(r: RunReport): string {
  const out: string[] = ['## Debate Digest run', ''];
  out.push(r.issue ? `**Issue:** [#${r.issue.number} ${md(r.issue.subject)}](${r.issue.url})` : '**Issue:** none (nothing new)');
  out.push('', '| gathered | new | quotes | themes | pages | written | sent | failed | problems |', '|---|---|---|---|---|---|---|---|---|');
  const d = r.delivery;
  out.push(`| ${r.gathered} | ${r.newItems} | ${r.quotes} | ${r.themes} | ${r.pages} | ${d?.written ?? 0} | ${d?.sent ?? 0} | ${d?.failed ?? 0} | ${r.problems.length} |`);
  if (r.health.length) {
    out.push('', '### Sources', '', '| | source | status | new | last success | failures in a row |', '|---|---|---|---|---|---|');
    for (const h of r.health)
      out.push(`| ${healthIcon(h)} | ${md(h.origin)} | ${h.status}${h.error ? `: ${md(h.error)}` : ''} | ${h.newItems} | ${h.lastSuccess ?? 'never'} | ${h.consecutiveFailures} |`);
  }
  if (r.problems.length) {
    out.push('', '### Problems', '');
    for (const p of r.problems) out.push(`- \`${p.code}\` at ${md(p.origin)}: ${md(p.message)}. ${md(p.hint)}`);
  }
  return `${out.join('\n')}\n`;
}
