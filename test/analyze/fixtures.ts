/** Test helpers: SourceItems from the real seeds, configs from sources/*.yaml (parsed as the eval does). */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnalyzeConfig, SourceItem, SpeakerConfig, ThemeConfig } from '../../src/model.js';
import { loadSpeakers, loadThemes, stripFrontMatter } from '../../scripts/eval.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SEEDS_DIR = path.resolve(ROOT, '..', 'shared', 'seeds');

export const speakers: SpeakerConfig[] = loadSpeakers(path.join(ROOT, 'sources/speakers.yaml'));
export const themes: ThemeConfig[] = loadThemes(path.join(ROOT, 'sources/themes.yaml'));
export const cfg: AnalyzeConfig = { attributionThreshold: 0.6, counterpointThreshold: 0.35, maxQuotes: 24, maxQuotesPerTheme: 4 };

export function makeItem(text: string, over: Partial<SourceItem> = {}): SourceItem {
  const id = over.id ?? `item-${Math.abs(hashCode(text + (over.sourceId ?? '')))}`;
  return {
    id,
    kind: 'file',
    sourceId: over.sourceId ?? id,
    origin: over.origin ?? `${id}.md`,
    url: null,
    links: [],
    guid: null,
    title: over.title ?? 'Untitled',
    author: null,
    date: null,
    dateProblem: 'missing',
    speakers: [],
    stance: null,
    primary: false,
    text,
    html: null,
    contentHash: id,
    ...over,
  };
}

function hashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

/** The five seeds as gather would hand them over (front matter stripped; title from the first line). */
export function seedItems(): SourceItem[] {
  return readdirSync(SEEDS_DIR)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => {
      const text = stripFrontMatter(readFileSync(path.join(SEEDS_DIR, f), 'utf8'));
      const title = text.split('\n').find((l) => l.trim() !== '')!.trim();
      return makeItem(text, { id: `seeds/${f}`, sourceId: `seeds/${f}`, origin: `seeds/${f}`, title });
    });
}
