import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/index.js';
import { critiqueHits, restatementShare } from '../../src/analyze/counterpoints.js';
import { cfg, makeItem, speakers, themes } from './fixtures.js';

const claim = 'The top-down belief is the thing that sustains you when the experiments contradict you, because beauty and simplicity guide research taste.';

describe('counterpoints', () => {
  it('pairs a claim with the critic’s attack, not with the critic’s restatement of it', () => {
    const item = makeItem(
      [
        `Ilya Sutskever: ${claim}`,
        'Gary Marcus: He literally says it: the top-down belief is what sustains you when the experiments contradict you. This is not a scientific method; it is theology, an unfalsifiable habit that lets research taste ignore the evidence.',
      ].join('\n'),
    );
    const r = analyze([item], { themes, speakers, analyze: cfg });
    const q = r.quotes.find((x) => x.text === claim)!;
    const cps = r.counterpoints.filter((c) => c.quoteId === q.id);
    expect(cps).toHaveLength(1);
    expect(cps[0]!.speaker).toBe('gary-marcus');
    expect(cps[0]!.text).toContain('theology');
    expect(cps[0]!.text).not.toContain('He literally says it');
    expect(cps[0]!.reason).toMatch(/Gary Marcus disputes Ilya Sutskever/);
    expect(cps[0]!.confidence).toBeGreaterThanOrEqual(cfg.counterpointThreshold);
    expect(item.text.slice(cps[0]!.start, cps[0]!.end)).toBe(cps[0]!.text);
  });

  it('a critic who only restates the claim is not its counterpoint', () => {
    const item = makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: So the top-down belief sustains you when the experiments contradict you, and beauty and simplicity guide research taste.`);
    const r = analyze([item], { themes, speakers, analyze: cfg });
    expect(r.counterpoints).toEqual([]);
  });

  it.each([
    ['in the critic’s own words', 'Put plainly, his claim is'],
    ['with an aside', 'His argument, if I have it right, is'],
  ])('a restatement %s ("%s that…") is not the answer either', (_how, opening) => {
    const item = makeItem(
      `Ilya Sutskever: ${claim}\nGary Marcus: ${opening} that faith in elegance should outrank failed experiments, which is wrong and naive. That is not a method at all; it is theology dressed as research taste.`,
    );
    const r = analyze([item], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.05 } });
    const cps = r.counterpoints.filter((c) => c.quoteId === r.quotes.find((x) => x.text === claim)!.id);
    expect(cps).toHaveLength(1);
    expect(cps[0]!.text).not.toContain(opening);
    expect(cps[0]!.text).toContain('theology');
  });

  it('a pleasantry or a bare verdict of under five content words answers nothing', () => {
    const r = analyze([makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: And I'm not so sure about that one.`)], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.01 } });
    expect(r.counterpoints).toEqual([]);
    // The same verdict with its reason is an answer.
    const r2 = analyze([makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: And I'm not so sure about that one, because research taste has misled the field before.`)], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.01 } });
    expect(r2.counterpoints.map((c) => c.speaker)).toEqual(['gary-marcus']);
  });

  it('words cut off by crosstalk are neither a claim to answer nor an answer', () => {
    const item = makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: But that is not research taste at all, it is theology and wishful thinking, if you — [crosstalk]`);
    const r = analyze([item], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.01 } });
    expect(r.counterpoints).toEqual([]);
    const reverse = makeItem(`Gary Marcus: This is not research taste at all, it is theology and wishful thinking, and if you —\nIlya Sutskever: ${claim}`);
    const r2 = analyze([reverse], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.01 } });
    expect(r2.counterpoints.filter((c) => r2.quotes.find((q) => q.id === c.quoteId)?.speaker === 'gary-marcus')).toEqual([]);
  });

  it('a claim whose best answer went to a claim it fits better gets none, not its next-best passage', () => {
    const item = makeItem(
      [
        `Ilya Sutskever: ${claim}`,
        'Gary Marcus: This is not a scientific method; research taste that ignores the evidence when experiments contradict you is theology and wishful thinking, plain and simple.',
        'Yann LeCun: I would add, and this is not a small point, that the whole field has been wrong about elegant ideas before and paid dearly for it.',
        `Ilya Sutskever: ${claim.replace('The top-down belief', 'That top-down belief')}`,
      ].join('\n'),
    );
    const r = analyze([item], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.01 } });
    // One answer, to one of the two claims; the other claim does not fall back to the weaker passage.
    expect(r.counterpoints).toHaveLength(1);
    expect(r.counterpoints[0]!.text).toContain('theology');
  });

  it('the same speaker never answers themself', () => {
    const item = makeItem(`Ilya Sutskever: ${claim}\nIlya Sutskever: But this is not a naive theology; the evidence is not ignored, research taste is wrong sometimes.`);
    expect(analyze([item], { themes, speakers, analyze: cfg }).counterpoints).toEqual([]);
  });

  it('drops pairs under the threshold', () => {
    const item = makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: This is not a scientific method; it is theology that lets research taste ignore the evidence.`);
    const strict = analyze([item], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 1.01 } });
    expect(strict.counterpoints).toEqual([]);
  });

  it.each([
    ['This is theology, not science.', true],
    ['The weather is lovely today.', false],
  ])('critique words in %j: %s', (text, any) => expect(critiqueHits(text).length > 0).toBe(any));

  it('restatement share is high for a paraphrase of the claim and low for an attack', () => {
    expect(restatementShare('the top-down belief sustains you when experiments contradict you', claim)).toBeGreaterThan(0.6);
    expect(restatementShare('This is not a scientific methodology; it is a theology.', claim)).toBeLessThan(0.2);
  });
});

describe('counterpoint heuristics, one at a time', () => {
  const low = { ...cfg, counterpointThreshold: 0.01 };
  const answerTo = (lines: string[], claimText = claim) => {
    const r = analyze([makeItem(lines.join('\n'))], { themes, speakers, analyze: low });
    const q = r.quotes.find((x) => x.text === claimText)!;
    return r.counterpoints.find((c) => c.quoteId === q.id);
  };

  it('a short verdict sentence carries the sentence after it, so the answer holds its argument', () => {
    const cp = answerTo([`Ilya Sutskever: ${claim}`, 'Gary Marcus: That is theology. Research taste has misled the field before, whenever faith in elegance outranked the failed experiments.']);
    expect(cp?.text).toBe('That is theology. Research taste has misled the field before, whenever faith in elegance outranked the failed experiments.');
  });

  it('a phrase of the claim taken up again (“environment builders”) marks the answer, over the same words apart', () => {
    // Two pieces open on the same claim; their answers differ only in word order, and the first would win a tie.
    const c = 'Our environment builders look at the public leaderboards every week, and that is how the evals leak into training.';
    const a = makeItem(`Ilya Sutskever: ${c}\nGary Marcus: No. The builders of each environment never see the leaderboards at all; that claim is wrong.`, { sourceId: 'a' });
    const b = makeItem(`Ilya Sutskever: ${c}\nYann LeCun: No. The environment builders never see the leaderboards at all; that claim is wrong.`, { sourceId: 'b' });
    const r = analyze([a, b], { themes, speakers, analyze: low });
    expect(r.counterpoints.map((x) => x.speaker)).toEqual(['yann-lecun']);
  });

  it('a concession (“Exactly, …”, “he is right that …”) is not the answer, though it comes first', () => {
    const cp = answerTo([
      `Ilya Sutskever: ${claim}`,
      'Gary Marcus: Exactly, and research taste is why some experiments are not wrong but only early, the sceptics forget that.',
      'Gary Marcus: Still, research taste that ignores the evidence when experiments contradict you is theology, not a method.',
    ]);
    expect(cp?.text).toMatch(/^Still, research taste/);
  });

  it('reporting what the speaker says (“he calls …”) sets an answer up without being one', () => {
    const cp = answerTo([
      `Ilya Sutskever: ${claim}`,
      'Gary Marcus: He calls every failed experiment a bug in research taste rather than a wrong direction, and that is not how evidence works.',
      'Gary Marcus: Research taste that ignores the evidence when experiments contradict you is theology, not a scientific method.',
    ]);
    expect(cp?.text).toMatch(/^Research taste that ignores/);
  });
});

describe('counterpoints across sources', () => {
  it('an opposite-side claim answers without words of critique (“We will keep scaling” vs “scaling has hit a wall”)', () => {
    const critic = makeItem('Gary Marcus was quick to respond. “Scaling has hit a wall, and the scaling era is over for good,” Marcus wrote.', { sourceId: 'a' });
    const ceo = makeItem('Asked about a plateau, Sam Altman said: “We will keep scaling, and the scaling laws still hold.”', { sourceId: 'b' });
    // Two one-line items score low on any calibration: this checks whom the claim is paired with, so the
    // threshold is set below that score.
    const r = analyze([critic, ceo], { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.05 } });
    const marcus = r.quotes.find((q) => q.speaker === 'gary-marcus')!;
    const cp = r.counterpoints.find((c) => c.quoteId === marcus.id);
    expect(cp?.speaker).toBe('sam-altman');
    expect(cp?.reason).toMatch(/Sam Altman disputes Gary Marcus .* from the scaling side/);
  });
});

describe('counterpoints an editor sets by hand (analyze.pairs)', () => {
  const claimText = 'The idea of the artificial neuron is directly inspired by the brain, and it is a great idea, because you say the brain has neurons.';
  const transcript = makeItem(`Dwarkesh Patel: And research taste?\nIlya Sutskever: ${claimText}`, { sourceId: 'transcript' });
  const reply = makeItem('On the neuron, DeepSeek says: “This isn’t a scientific methodology. It’s a theology dressed in mathematical vestments.” The rest of the piece is about evals.', { sourceId: 'reply' });
  const run = (pairs: { quote: string; counter: string }[], items = [transcript, reply]) =>
    analyze(items, { themes, speakers, analyze: { ...cfg, pairs: pairs.map((p) => ({ ...p, origin: 'sources/settings.yaml:7' })) } });

  it('a pair found in the sources is shown at full confidence, verbatim, with the answer’s speaker, though copied with straight quotes', () => {
    // Without the pair the analyzer shows nothing here (the answer is in another piece, in other words).
    expect(run([]).counterpoints).toEqual([]);
    const r = run([{ quote: 'The idea of the artificial neuron is directly inspired', counter: "This isn't a scientific methodology. It's a theology dressed in mathematical vestments." }]);
    expect(r.problems).toBeUndefined();
    expect(r.counterpoints).toHaveLength(1);
    const cp = r.counterpoints[0]!;
    expect(r.quotes.find((q) => q.id === cp.quoteId)!.text).toBe(claimText);
    expect(cp).toMatchObject({ speaker: 'deepseek', itemId: reply.id, confidence: 1, text: 'This isn’t a scientific methodology. It’s a theology dressed in mathematical vestments.' });
    expect(reply.text.slice(cp.start, cp.end)).toBe(cp.text);
    expect(cp.reason).toBe('Chosen by the editor: DeepSeek (AI model) answers Ilya Sutskever.');
  });

  it('replaces the analyzer’s own pick for that quote', () => {
    const critic = makeItem(`Ilya Sutskever: ${claim}\nGary Marcus: This is not a scientific method; research taste that ignores the evidence when experiments contradict you is theology and wishful thinking, plain and simple.`);
    const own = analyze([critic, reply], { themes, speakers, analyze: cfg });
    expect(own.counterpoints.map((c) => c.speaker)).toEqual(['gary-marcus']);
    const r = analyze([critic, reply], { themes, speakers, analyze: { ...cfg, pairs: [{ quote: claim.slice(0, 40), counter: 'It’s a theology dressed in mathematical vestments.', origin: 'x:1' }] } });
    expect(r.counterpoints.map((c) => [c.speaker, c.text])).toEqual([['deepseek', 'It’s a theology dressed in mathematical vestments.']]);
  });

  it('one side missing is a problem naming the line; both missing is another week’s pair, skipped', () => {
    const noCounter = run([{ quote: 'The idea of the artificial neuron is directly inspired', counter: 'A sentence nobody wrote in any source.' }]);
    expect(noCounter.counterpoints).toEqual([]);
    expect(noCounter.problems).toEqual([expect.objectContaining({ code: 'PAIR_COUNTER_NOT_FOUND', origin: 'sources/settings.yaml:7' })]);
    const noQuote = run([{ quote: 'Words that open no key quote at all', counter: 'It’s a theology dressed in mathematical vestments.' }]);
    expect(noQuote.problems).toEqual([expect.objectContaining({ code: 'PAIR_QUOTE_NOT_FOUND', origin: 'sources/settings.yaml:7' })]);
    expect(noQuote.problems![0]!.hint).toMatch(/digest analyze/);
    const elsewhere = run([{ quote: 'Words that open no key quote at all', counter: 'A sentence nobody wrote in any source.' }]);
    expect(elsewhere.problems).toBeUndefined();
  });

  it('a side that came in an earlier issue is skipped, not a problem: a pair applies within one issue', () => {
    const pairs = [{ quote: 'The idea of the artificial neuron is directly inspired', counter: 'It’s a theology dressed in mathematical vestments.', origin: 'x:1' }];
    const r = analyze([transcript], { themes, speakers, analyze: { ...cfg, pairs }, known: [reply] });
    expect(r.problems).toBeUndefined();
    expect(r.counterpoints).toEqual([]);
  });

  it('matches whole words only, and an opening that starts two key quotes is a problem, not a guess', () => {
    const partial = run([{ quote: 'The idea of the artificial neuron is directly inspired', counter: 'his isn’t a scientific methodology. It’s a theology' }]);
    expect(partial.problems?.[0]?.code).toBe('PAIR_COUNTER_NOT_FOUND');
    const second = makeItem(`Dwarkesh Patel: And?\nIlya Sutskever: The idea of the artificial neuron was also a bet on simplicity, and simplicity paid off in the end.`, { sourceId: 'second' });
    const r = run([{ quote: 'The idea of the artificial neuron', counter: 'It’s a theology dressed in mathematical vestments.' }], [transcript, second, reply]);
    expect(r.problems?.map((p) => p.code)).toEqual(['PAIR_QUOTE_AMBIGUOUS']);
    expect(r.counterpoints.some((c) => c.reason.startsWith('Chosen by the editor'))).toBe(false);
    // Two pairs whose openings both start one quote: the first stands, the second is reported.
    const both = run([
      { quote: 'The idea of the artificial neuron is directly inspired', counter: 'It’s a theology dressed in mathematical vestments.' },
      { quote: 'The idea of the artificial neuron is directly', counter: 'This isn’t a scientific methodology.' },
    ]);
    expect(both.counterpoints.map((c) => c.text)).toEqual(['It’s a theology dressed in mathematical vestments.']);
    expect(both.problems?.map((p) => p.code)).toEqual(['PAIR_QUOTE_AMBIGUOUS']);
  });
});

describe('counterpoints in the shipped dropped files', () => {
  it('the DeepSeek reply note answers Sutskever’s transcript claims (it answered none before)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { parseDroppedFile } = await import('../../src/gather/files.js');
    const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../sources/dropped');
    const items = readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => parseDroppedFile(readFileSync(path.join(dir, f), 'utf8'), `dropped/${f}`).item!)
      .filter(Boolean);
    // The reply note answers from another file than the transcript, so its pairs score under the calibrated
    // threshold (see SCORE_FOR_FULL_CONFIDENCE); this checks who is paired with whom, below it.
    const r = analyze(items, { themes, speakers, analyze: { ...cfg, counterpointThreshold: 0.05 } });
    const byId = new Map(r.quotes.map((q) => [q.id, q]));
    const answered = r.counterpoints.filter((c) => byId.get(c.quoteId)?.speaker === 'ilya-sutskever' && c.speaker === 'deepseek');
    expect(answered.length).toBeGreaterThanOrEqual(1);
    // The critique's human author is not DeepSeek ("On the eval passage, the author is scornful: “…”").
    expect(r.quotes.find((q) => q.text.startsWith('It is like claiming we do not understand'))?.speaker).toBeNull();
    expect(r.quotes.find((q) => q.text.startsWith('I think we are just watching'))?.speaker).toBeNull();
    // DeepSeek's own words are never credited to Sutskever ("It then names the move it sees in Sutskever's
    // framing: “He separates…”" is DeepSeek speaking).
    expect(r.quotes.find((q) => q.text.startsWith('He separates the observation'))?.speaker).toBe('deepseek');
    // A concession or a section heading is never shown as the answer.
    for (const c of r.counterpoints) expect(c.text).not.toMatch(/^#|sensible/);
  });

});
