import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, SEEDS } from '../helpers/project.js';

// The analysis contract other tools read (README "digest analyze --json"), on real input we did not write.
describe('digest analyze --json on the seeds', () => {
  it('prints the documented shape, and every quote is the file’s text between start and end', async () => {
    const files = (await readdir(SEEDS)).sort().map((f) => path.join(SEEDS, f));
    const r = await runCli(['analyze', ...files, '--json'], { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      quotes: { id: string; text: string; speaker: string | null; source: string; start: number; end: number; themes: string[]; kind: string; status: string; citations: { source: string; start: number; end: number }[] }[];
      counterpoints: { quoteId: string; quote: string; text: string; source: string; start: number; end: number; reason: string }[];
    };
    expect(out.quotes.length).toBeGreaterThan(20);
    const text = new Map<string, string>();
    for (const f of files) text.set(f, await readFile(f, 'utf8'));
    const ids = new Set(out.quotes.map((q) => q.id));
    for (const q of out.quotes) {
      expect(files).toContain(q.source);
      expect(text.get(q.source)?.slice(q.start, q.end)).toBe(q.text);
      // Citations are other places holding the same words (case and punctuation may differ, or only a part).
      const words = (t: string) => t.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
      for (const c of q.citations) {
        const cited = words(text.get(c.source)?.slice(c.start, c.end) ?? '');
        expect(cited.length).toBeGreaterThan(0);
        expect(words(q.text).includes(cited) || cited.includes(words(q.text))).toBe(true);
      }
      expect(Array.isArray(q.themes)).toBe(true);
      expect(['direct', 'fragment', 'quote-of-quote']).toContain(q.kind);
      expect(['verified', 'corroborated', 'single-source', 'paraphrase']).toContain(q.status);
    }
    // Seed 001 has front matter: offsets still index the file as it is on disk.
    expect(out.quotes.some((q) => q.source.endsWith('001_2607c100e43d690e.txt'))).toBe(true);
    expect(out.quotes.some((q) => q.speaker === 'ilya-sutskever')).toBe(true);
    for (const c of out.counterpoints) {
      expect(ids).toContain(c.quoteId);
      expect(text.get(c.source)?.slice(c.start, c.end)).toBe(c.text);
      expect(c.reason.length).toBeGreaterThan(5);
    }
  });

  it('names a missing file and exits 1', async () => {
    const r = await runCli(['analyze', 'no/such/file.md', '--json'], { cwd: ROOT });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FILE_UNREADABLE at no\/such\/file\.md/);
  });
});
