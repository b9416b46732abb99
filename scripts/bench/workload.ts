/**
 * The benchmark's deterministic workload: feeds, past issues and subscribers made from a fixed seed, so two
 * runs of `npm run bench` measure the same work.
 */

/** mulberry32: a small, fast, seedable PRNG (deterministic across runs and machines). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'scaling research generalization models evals compute data pretraining reinforcement learning environment reward ' +
  'benchmark human sample efficiency value function emotion continual deployment alignment sentient superintelligence ' +
  'timeline taste beauty simplicity brain economy investment company recipe plateau progress student programmer ' +
  'the a of and to in that is it for on with as but not we they this are be have more than'
).split(' ');
const SPEAKERS = ['Ilya Sutskever', 'Dwarkesh Patel', 'Gary Marcus', 'Yann LeCun', 'Sam Altman', 'Dario Amodei'];
const VERBS = ['said', 'argued', 'told', 'wrote', 'added'];

function sentence(r: () => number, min: number, max: number): string {
  const n = min + Math.floor(r() * (max - min));
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(r() * WORDS.length)] as string);
  const s = w.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One feed item's HTML body: prose with two or three attributed quotes. */
export function itemBody(r: () => number): string {
  const parts: string[] = [];
  const paras = 3 + Math.floor(r() * 3);
  for (let p = 0; p < paras; p++) {
    const speaker = SPEAKERS[Math.floor(r() * SPEAKERS.length)] as string;
    const verb = VERBS[Math.floor(r() * VERBS.length)] as string;
    parts.push(`<p>${sentence(r, 10, 25)}. “${sentence(r, 12, 30)},” ${speaker} ${verb}. ${sentence(r, 8, 20)}.</p>`);
  }
  return parts.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `feeds` RSS documents of `items` items each, published in the week before `now`. */
export function makeFeeds(seed: number, feeds: number, items: number, now: Date): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let f = 0; f < feeds; f++) {
    const entries: string[] = [];
    for (let i = 0; i < items; i++) {
      const date = new Date(now.getTime() - Math.floor(r() * 6 * 86_400_000)).toUTCString();
      entries.push(`<item><title>${esc(sentence(r, 4, 9))}</title><link>https://feed${f}.example/posts/${i}</link>` +
        `<guid>feed${f}-item${i}</guid><pubDate>${date}</pubDate><description>${esc(itemBody(r))}</description></item>`);
    }
    out.push(`<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Bench feed ${f}</title>` +
      `<link>https://feed${f}.example/</link><description>bench</description>${entries.join('')}</channel></rss>`);
  }
  return out;
}

/** `n` subscriber addresses on example.com (never real). */
export function makeSubscribers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `reader${String(i).padStart(5, '0')}@example.com`);
}
