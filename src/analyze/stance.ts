import type { Stance } from '../model.js';

/**
 * Stance is which side of the debate a passage takes, not whether it sounds happy: "scaling won't get us
 * there" is the research side however cheerfully it is said. The prior (speaker, else source) is weighed
 * with cue phrases; a negated cue ("scaling does not work") counts for the other side.
 */

const CUES: Record<Exclude<Stance, 'neutral'>, string[]> = {
  research: [
    'age of research', 'back to research', 'new ideas', 'ideas', 'generalize dramatically worse', 'generalise dramatically worse',
    'generalization', 'generalisation', 'diminishing returns', 'plateau', 'plateauing', 'hitting a wall', 'hit a wall', 'hits a wall', 'scaling alone', 'scaling era is over', 'age of scaling is over',
    'research company', 'continual learning', 'value function', 'sample efficiency', 'bottleneck',
  ],
  scaling: [
    'keep scaling', 'scaling works', 'scaling laws hold', 'scaling laws still hold', 'scaling still works', 'no wall',
    'scale is all you need', 'scaling is all you need', 'just scale', 'the recipe works',
    "/scaling (?:[\\w']+ ){0,3}(?:works?|pays|holds|continues|delivers|will get us)",
  ],
  paradigm: [
    'dead end', 'lookup tables', 'pattern match', 'pattern matching', 'pattern matchers', 'brittle', 'goodhart', 'theology',
    'naive', 'mirage', 'hype', 'unfalsifiable', 'not on a path to agi', 'not on the road to agi', 'overfitting',
    'mystic', 'prophet', 'myth', 'innate structure', 'world model', 'world models', 'symbolic', 'conceptual dead end',
    'never was', 'oversold', 'narrative', 'misunderstanding',
  ],
};

const NEGATORS = /\b(?:not|no|never|n't|won't|can't|cannot|isn't|doesn't|don't|wasn't|hardly|without|nor|less)\b[^.!?;]{0,30}$/i;

const NEGATORS_INSIDE = /\b(?:not|no longer|never|n't|won't|can't|cannot|isn't|doesn't|don't)\b|n't\b/;

const OPPOSITE: Record<Exclude<Stance, 'neutral'>, Stance> = { research: 'scaling', scaling: 'research', paradigm: 'scaling' };

export interface StanceInput {
  text: string;
  speakerStance: Stance | null;
  sourceStance: Stance | null;
}

/** Cue patterns compiled once (stance is read for every quote and every passage). */
const COMPILED = (Object.entries(CUES) as [Exclude<Stance, 'neutral'>, string[]][]).map(([stance, cues]) => ({
  stance,
  res: cues.map((cue) => {
    const body = cue.startsWith('/') ? cue.slice(1) : cue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // A literal the text must contain for the cue to match at all: a substring test is far cheaper than a
    // regex scan, and most texts hold few cues. (A pattern cue's literal is its leading word.)
    const literal = cue.startsWith('/') ? (/^\/([a-z' ]+)/.exec(cue)?.[1] ?? '') : cue;
    return { re: new RegExp(`(?<![a-z])${body}(?![a-z])`, 'g'), literal };
  }),
}));

export function stanceScores(text: string): Map<Stance, number> {
  const scores = new Map<Stance, number>();
  const lower = text.toLowerCase().replace(/’/g, "'");
  for (const { stance, res } of COMPILED) {
    for (const { re, literal } of res) {
      if (!lower.includes(literal)) continue;
      for (const m of lower.matchAll(re)) {
        const negated =
          NEGATORS.test(lower.slice(Math.max(0, m.index! - 40), m.index!)) || NEGATORS_INSIDE.test(m[0]);
        const side = negated ? OPPOSITE[stance] : stance;
        scores.set(side, (scores.get(side) ?? 0) + 1);
      }
    }
  }
  return scores;
}

export function stanceOf(input: StanceInput): Stance {
  const scores = stanceScores(input.text);
  if (input.speakerStance && input.speakerStance !== 'neutral') scores.set(input.speakerStance, (scores.get(input.speakerStance) ?? 0) + 1.5);
  else if (input.sourceStance && input.sourceStance !== 'neutral') scores.set(input.sourceStance, (scores.get(input.sourceStance) ?? 0) + 1);
  let best: Stance = 'neutral';
  let bestScore = 0;
  for (const [s, v] of scores) {
    if (v > bestScore) {
      best = s;
      bestScore = v;
    }
  }
  return best;
}
