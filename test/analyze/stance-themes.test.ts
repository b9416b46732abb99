import { describe, expect, it } from 'vitest';
import { stanceOf } from '../../src/analyze/stance.js';
import { buildThemeMatcher, themesFor } from '../../src/analyze/themes.js';
import { themes } from './fixtures.js';

describe('stance: priors, cue phrases and negation — not sentiment', () => {
  it.each([
    ['cue: research side', 'We are back to the age of research; scaling alone has hit diminishing returns.', null, null, 'research'],
    ['cue: scaling side', 'Scaling still works and the scaling laws hold; just keep scaling.', null, null, 'scaling'],
    ['negated scaling cue reads as research', 'Scaling no longer works the way it did.', null, null, 'research'],
    ['negation flips the research cue', 'There is no plateau and no diminishing returns in sight.', null, null, 'scaling'],
    ['paradigm cues', 'These are brittle pattern matchers, a dead end for AGI.', null, null, 'paradigm'],
    ['cheerful wording does not make a side', 'What a wonderful, exciting, amazing day for everyone!', null, null, 'neutral'],
    ['speaker prior when the text is silent', 'I said what I said.', 'paradigm', null, 'paradigm'],
    ['source prior when no speaker', 'I said what I said.', null, 'scaling', 'scaling'],
    ['cues outweigh a weak source prior', 'Scaling still works, the scaling laws hold, so keep scaling.', null, 'research', 'scaling'],
  ] as const)('%s', (_n, text, speakerStance, sourceStance, want) => {
    expect(stanceOf({ text, speakerStance, sourceStance })).toBe(want);
  });
});

describe('themes by cue', () => {
  const m = buildThemeMatcher(themes);
  it.each([
    ['Models generalize dramatically worse than people.', ['generalization']],
    ['RL environments built from evals lead to reward hacking.', ['evals-rl']],
    ['If you 100× the scale, does everything transform?', ['scaling-era']],
    ['Emotions act as a value function.', ['value-functions']],
  ])('%s', (text, want) => expect(themesFor(m, text, '')).toEqual(want));

  it('a quote without cues takes the strongest theme of its context', () => {
    expect(themesFor(m, 'I don’t think that’s true.', 'Is the belief that if you 100x the scale of pre-training, everything changes?')).toEqual(['scaling-era']);
  });

  it('matches on word boundaries only', () => {
    expect(themesFor(m, 'The evaluation of buggy code.', '')).toEqual([]);
  });
});
