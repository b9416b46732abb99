import { describe, expect, it } from 'vitest';
import { findQuotes } from '../../src/analyze/quotes.js';

const spans = (text: string, known: string[] = []) =>
  findQuotes(text, (l) => known.includes(l)).map((q) => ({ text: text.slice(q.start, q.end), form: q.form, kind: q.kind, label: q.label }));
const texts = (text: string, known: string[] = []) => spans(text, known).map((s) => s.text);

describe('findQuotes: each form', () => {
  it.each([
    ['curly double', 'He said “scaling alone will not get us there, not this time around” today.', ['scaling alone will not get us there, not this time around']],
    ['straight double', 'He said "we are back in the age of research again, with big computers" then left.', ['we are back in the age of research again, with big computers']],
    ['curly single', 'She wrote ‘models generalize dramatically worse than people do today’ once.', ['models generalize dramatically worse than people do today']],
    ['apostrophes are not quotes', 'It’s the students’ work and they don’t mind.', []],
    ['an opening mark used to close (“…“)', 'He said “This is the age of research again, folks. “ and left.', ['This is the age of research again, folks.']],
    ['an opening mark is never before punctuation', 'x “a b c d e f g h. “ “.', ['a b c d e f g h.']],
  ])('%s', (_n, text, want) => expect(texts(text)).toEqual(want));

  it('nests same-mark quotes and marks the inner one quote-of-quote', () => {
    const t = 'Ilya: “Then you tell the model, “Can you please fix the bug?” and it says sorry again and again.”';
    const got = spans(t).filter((s) => s.form === 'marks');
    expect(got.map((s) => s.text)).toEqual([
      'Then you tell the model, “Can you please fix the bug?” and it says sorry again and again.',
      'Can you please fix the bug?',
    ]);
    expect(got[1]!.kind).toBe('quote-of-quote');
  });

  it('carries an unclosed quote over paragraphs that reopen with a mark, ending at the closing mark', () => {
    const t = 'He said:\n\n“The first paragraph of the answer goes on.\n\n“The second paragraph ends it here.”\n\nAfter.';
    expect(texts(t)).toEqual(['The first paragraph of the answer goes on.\n\n“The second paragraph ends it here.']);
  });

  it('drops a quote left unclosed at the end of its paragraph', () => {
    expect(texts('He said “this never closes\n\nNext paragraph here.')).toEqual([]);
  });

  it('finds Markdown block quotes without the marker', () => {
    expect(spans('Intro.\n\n> The models generalize worse than people, by a lot.\n\nAfter.')).toMatchObject([
      { text: 'The models generalize worse than people, by a lot.', form: 'blockquote', kind: 'direct' },
    ]);
  });

  it('finds a paragraph followed by a — Name line, with the name as label', () => {
    expect(spans('Scaling is over and we are back to the age of research.\n— Ilya Sutskever')).toMatchObject([
      { text: 'Scaling is over and we are back to the age of research.', form: 'dash-line', label: 'Ilya Sutskever' },
    ]);
    // A bulleted list is not an attribution.
    expect(spans('- first point of a list here\n- Second Point')).toEqual([]);
  });

  it.each([
    ['Name: turns', 'Dwarkesh: Why do models generalize worse than people?\nIlya: Because we do not know the principle yet, honestly.', ['Dwarkesh', 'Ilya']],
    ['Q:/A: turns', 'Q: What is the age of research exactly?\nA: It is when ideas matter more than compute again.', ['Q', 'A']],
    ['SPEAKER n turns', 'SPEAKER 1: So where are we now with all this?\nSPEAKER 2: Back to the age of research, I think.', ['SPEAKER 1', 'SPEAKER 2']],
    ['timestamped turns', '[00:01:02] Dwarkesh: What is the bottleneck now?\n[00:01:09] Ilya: Ideas are the bottleneck now, not compute.', ['Dwarkesh', 'Ilya']],
  ])('transcript %s', (_n, text, labels) => {
    const got = spans(text, ['Dwarkesh', 'Ilya']).filter((s) => s.form === 'turn');
    expect(got.map((s) => s.label)).toEqual(labels);
    for (const g of got) expect(text).toContain(g.text);
    expect(got[0]!.text).not.toMatch(/^(?:\[|Q:|SPEAKER|Dwarkesh:)/);
  });

  it('a single "Note: …" line is not a transcript', () => {
    expect(spans('Note: this post was updated on Monday with new quotes.')).toEqual([]);
  });

  it('a turn runs over its continuation lines to the next turn or blank line', () => {
    const t = 'Host: First question here for you?\nGuest: Answer line one.\nAnswer line two.\n\nAfter the blank line.';
    expect(texts(t)).toEqual(['First question here for you?', 'Answer line one.\nAnswer line two.']);
  });

  it('an excerpt of turns pasted after a colon ends each turn at its line', () => {
    const t = 'Q: This bit did the trick for me:\nPatel: I think the models seem smarter than their impact.\nSutskever: Yeah, it is very confusing.\nI think he is wrong about that.\nDeepSeek: Indeed.';
    expect(texts(t, ['Patel', 'Sutskever', 'DeepSeek'])).toContain('Yeah, it is very confusing.');
  });

  it('kinds: fragment under 8 words at top level', () => {
    const got = spans('The “age of research” is back, he said: “we are squarely an age of research company now.”');
    expect(got.map((g) => g.kind)).toEqual(['fragment', 'direct']);
  });
});

describe('HTML block quotes (located through the item’s sanitized HTML)', () => {
  it('finds the block quote’s words in the plain text gather made', async () => {
    const { htmlToText, sanitizeHtml } = await import('../../src/gather/sanitize.js');
    const html = sanitizeHtml('<p>Marcus wrote a reply.</p><blockquote><p>Scaling &amp; more scaling will not get us to <em>general</em> intelligence.</p></blockquote><p>— Gary Marcus</p>', undefined);
    const text = htmlToText(html);
    const got = findQuotes(text, () => false, html).map((q) => ({ text: text.slice(q.start, q.end), form: q.form }));
    expect(got).toContainEqual({ text: 'Scaling & more scaling will not get us to general intelligence.', form: 'blockquote' });
  });

  it('a <cite> closing the block names who is quoted and is not part of the words', async () => {
    const { htmlToText, sanitizeHtml } = await import('../../src/gather/sanitize.js');
    const html = sanitizeHtml('<blockquote><p>Scaling will not get us to general intelligence on its own.</p><cite>Gary Marcus, The Road to AI</cite></blockquote>', undefined);
    const text = htmlToText(html);
    const got = findQuotes(text, () => false, html).filter((q) => q.form === 'blockquote').map((q) => ({ text: text.slice(q.start, q.end), label: q.label }));
    expect(got).toEqual([{ text: 'Scaling will not get us to general intelligence on its own.', label: 'Gary Marcus' }]);
  });
});

describe('block quotes holding a quotation and its attribution', () => {
  it('the quotation is the quote, at top level', () => {
    const t = 'Marcus was blunt.\n\n> “Scaling has hit a wall and everyone can see it now,” said Marcus.\n\nAfter.';
    expect(spans(t)).toEqual([{ text: 'Scaling has hit a wall and everyone can see it now,', form: 'marks', kind: 'direct', label: null }]);
  });
});

describe('a transcript’s cast line', () => {
  it('"Host: Name." introduces the cast and is nobody’s words; "Q: Name, who …, says …" is a question', () => {
    const known = (l: string) => ['Dwarkesh Patel', 'Ilya Sutskever'].includes(l);
    const t = 'Host: Dwarkesh Patel. Guest: Ilya Sutskever.\n\nQ: Ilya Sutskever, who left in 2024, says scaling is over. Is it?\nA: We are back in the age of research again, just with big computers.';
    const turns = findQuotes(t, known).filter((q) => q.form === 'turn').map((q) => t.slice(q.start, q.end));
    expect(turns).toEqual(['Ilya Sutskever, who left in 2024, says scaling is over. Is it?', 'We are back in the age of research again, just with big computers.']);
  });
});

describe('an answer over two paragraphs', () => {
  const t = 'Intro paragraph, not speech.\n\nQ: What changed this year?\nA: The first paragraph of the answer is here.\n\nAnd the second paragraph of the same answer is here.\n\nQ: Next question?\nA: Short answer.\n\nEdited for length.';
  const turnTexts = (primary: boolean) => findQuotes(t, () => false, null, primary).filter((q) => q.form === 'turn').map((q) => `${q.label}: ${t.slice(q.start, q.end)}`);
  it('in a primary transcript, the unlabelled paragraph between turns is the same speaker going on', () => {
    expect(turnTexts(true)).toEqual([
      'Q: What changed this year?',
      'A: The first paragraph of the answer is here.',
      'A: And the second paragraph of the same answer is here.',
      'Q: Next question?',
      'A: Short answer.',
    ]);
  });
  it('elsewhere (a blog quoting an exchange) it is the author again', () => {
    expect(turnTexts(false)).not.toContain('A: And the second paragraph of the same answer is here.');
  });
});

describe('titles in quotes', () => {
  it.each([
    ['under the headline “TMTB: Ilya Sutsekver on Dwarkesh’s Pod Key Quotes” today', true],
    ['The piece’s title is “Ilya Sutskever Spills the Beans on AGI and Much More”.', true],
    ['the episode "Ilya Sutskever – We’re moving from the age of scaling to the age of research" aired', true],
    ['Sutskever said: “We are squarely an age of research company now, and proud.”', false],
    ['As Marcus put it in his newsletter, “a model that needs ten thousand examples has not learned the task.”', false],
    ['In the newsletter, “The Age of Research” ran first.', true],
  ])('%s → title %s', (text, title) => {
    const q = findQuotes(text)[0]!;
    expect(q.title).toBe(title);
    if (title) expect(q.kind).toBe('fragment');
  });
});

describe('paragraph shapes', () => {
  it('a block quote of two paragraphs gives one span per paragraph', () => {
    const t = 'Intro.\n\n> First paragraph of the quoted passage is here.\n>\n> Second paragraph of the quoted passage is here.\n\nAfter.';
    expect(texts(t)).toEqual(['First paragraph of the quoted passage is here.', 'Second paragraph of the quoted passage is here.']);
  });

  it('a wrapped paragraph above a dash line is taken whole when paragraphs are blank-line separated', () => {
    const t = 'Intro paragraph.\n\nScaling is over and we are back\nto the age of research, with big computers.\n— Ilya Sutskever\n\nAfter.';
    expect(spans(t)).toMatchObject([{ text: 'Scaling is over and we are back\nto the age of research, with big computers.', form: 'dash-line', label: 'Ilya Sutskever' }]);
  });
});
