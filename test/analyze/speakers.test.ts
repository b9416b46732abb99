import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/index.js';
import { buildSpeakerIndex } from '../../src/analyze/speakers.js';
import { cfg, makeItem, speakers, themes } from './fixtures.js';

const index = buildSpeakerIndex(speakers);
const run = (text: string, over = {}) => analyze([makeItem(text, over)], { themes, speakers, analyze: cfg });
const speakerOf = (text: string, quote: string, over = {}) => {
  const q = run(text, over).quotes.find((x) => x.text === quote);
  if (!q) throw new Error(`quote not found: ${quote}`);
  return { speaker: q.speaker, method: q.attribution.method };
};

describe('speaker names', () => {
  it.each([
    ['Ilya Sutskever', 'ilya-sutskever'],
    ['Sutsekver', 'ilya-sutskever'], // listed misspelling
    ['Sutskeverr', 'ilya-sutskever'], // one typo, not listed
    ['Yann Le Cun', 'yann-lecun'],
    ['Francois Chollet', 'francois-chollet'],
    ['Chollet’s', 'francois-chollet'],
    ['Gary Marcus, NYU professor emeritus', 'gary-marcus'],
    ['Alan Turing', null],
    ['Pattel', null], // short names get no typo allowance
  ])('%s → %s', (name, id) => expect(index.resolve(name)).toBe(id));

  it('finds misspelled mentions in running text', () => {
    const m = index.mentions('As Ilya Sutskevr told Dwarkesh, and Marcus replied.');
    expect(m.map((x) => x.speaker)).toEqual(['ilya-sutskever', 'dwarkesh-patel', 'gary-marcus']);
  });
});

describe('attribution passes, in order of trust', () => {
  const quote = 'We are back in the age of research again, just with big computers.';
  it.each([
    ['label', `Dwarkesh: So what now, after all of this scaling?\nIlya: ${quote}`, 'ilya-sutskever', 'label'],
    ['dash', `“${quote}”\n— Gary Marcus`, 'gary-marcus', 'dash'],
    ['verb + name', `Sutskever said, “${quote}”`, 'ilya-sutskever', 'verb-name'],
    ['name after', `“${quote}” said LeCun on Monday.`, 'yann-lecun', 'verb-name'],
    ['colon after name', `Gary Marcus: “${quote}”`, 'gary-marcus', 'verb-name'],
    ['verb + pronoun', `Sutskever was on the podcast this week. Near the end he says, “${quote}”`, 'ilya-sutskever', 'verb-pronoun'],
    ['misspelled name', `Sutsekver argued: “${quote}”`, 'ilya-sutskever', 'verb-name'],
  ])('%s', (_n, text, id, method) => expect(speakerOf(text, quote)).toEqual({ speaker: id, method }));

  it('falls back to the declared speaker of the item', () => {
    expect(speakerOf(`Notes from the interview: “${quote}”`, quote, { speakers: ['ilya-sutskever'] })).toEqual({ speaker: 'ilya-sutskever', method: 'declared' });
  });

  it('an explicit attribution to someone unknown stops the fallback (no declared speaker)', () => {
    expect(speakerOf(`“${quote}” - Alan Turing in 1950`, quote, { speakers: ['ilya-sutskever'] })).toEqual({ speaker: null, method: 'dash' });
  });

  it('a pronoun resolves to the last named speaker, not an earlier one', () => {
    const text = `Marcus disagreed with Altman last week. Later Sutskever joined in, and he said “${quote}”`;
    expect(speakerOf(text, quote).speaker).toBe('ilya-sutskever');
  });

  it('"According to Name, …:" introduces the quote after the colon', () => {
    expect(speakerOf(`According to LeCun, the benchmarks are the problem: “${quote}”`, quote)).toEqual({ speaker: 'yann-lecun', method: 'verb-name' });
  });

  it('a pronoun in a new paragraph that names someone else is that person, not the previous quote’s speaker', () => {
    const text = `“The curves have not bent at all this year, whatever you read,” said Altman.\n\nGary Marcus, a longtime critic, was unconvinced. “${quote}” he said.`;
    expect(speakerOf(text, quote)).toEqual({ speaker: 'gary-marcus', method: 'verb-pronoun' });
  });

  it('a pronoun after the quote is the person the paragraph is about, not the last one named', () => {
    const text = `Gary Marcus, asked afterwards about LeCun’s talk, said the critique proved too much. “${quote}” he said.`;
    expect(speakerOf(text, quote)).toEqual({ speaker: 'gary-marcus', method: 'verb-pronoun' });
    // Introduced in the paragraph before, after someone else's quote.
    const two = `“The curves have not bent at all this year, whatever you read,” said Sam Altman.\n\nThe head of the critics' panel, Gary Marcus, spoke last, and Sutskever's name came up often.\n\n“${quote}” he said.`;
    expect(speakerOf(two, quote).speaker).toBe('gary-marcus');
  });

  it('an unattributed quote after a sentence naming one person is that person’s (an action beat)', () => {
    expect(speakerOf(`Asked about it, Marcus shrugged. “${quote}”`, quote)).toEqual({ speaker: 'gary-marcus', method: 'context' });
    // Two people named: no guess.
    expect(speakerOf(`Marcus and LeCun traded barbs on stage. “${quote}”`, quote).speaker).toBeNull();
    // A question before it is someone asking, not the person named.
    expect(speakerOf(`What would Marcus say to that? “${quote}”`, quote).speaker).toBeNull();
  });

  it('numbered transcript labels take the names the introduction gives them', () => {
    const text = `Panel transcript. SPEAKER 1 is the moderator, Dwarkesh Patel. SPEAKER 2 is Gary Marcus.\n\n[00:00:05] SPEAKER 1: Is the age of scaling over, then?\n\n[00:00:12] SPEAKER 2: ${quote}`;
    expect(speakerOf(text, quote)).toEqual({ speaker: 'gary-marcus', method: 'label' });
    const reverse = `With Gary Marcus (SPEAKER 2).\n\nSPEAKER 1: Is the age of scaling over, then?\nSPEAKER 2: ${quote}`;
    expect(speakerOf(reverse, quote).speaker).toBe('gary-marcus');
    // Not introduced: no guess.
    expect(speakerOf(`SPEAKER 1: Is the age of scaling over, then?\nSPEAKER 2: ${quote}`, quote).speaker).toBeNull();
  });

  it('numbered labels no line names: a self-introduction, the word handed over, and the one declared speaker left', () => {
    const text = [
      'Episode 12, automated transcript.',
      '',
      "[00:00:04] SPEAKER 1: Welcome back. I'm Dwarkesh Patel, and today two guests disagree. Gary, you first.",
      '',
      `[00:00:20] SPEAKER 2: ${quote}`,
      '',
      '[00:00:40] SPEAKER 1: Gary, you sign no bills. Does that worry you?',
      '',
      '[00:00:44] SPEAKER 2: Not at all, and I would say so again in any room you like.',
      '',
      '[00:01:00] SPEAKER 3: I would not, and here is why it matters for the labs that pay for it.',
    ].join('\n');
    const r = run(text, { primary: true, speakers: ['dwarkesh-patel', 'gary-marcus', 'yann-lecun'] });
    const who = (start: string) => r.quotes.find((q) => q.text.startsWith(start))?.speaker;
    expect(who('Welcome back')).toBe('dwarkesh-patel');
    expect(who(quote.slice(0, 20))).toBe('gary-marcus');
    expect(who('I would not')).toBe('yann-lecun');
  });

  it('words an unresolved label says take the speaker another source names for them', () => {
    const transcript = makeItem(`SPEAKER 1: So what now?\nSPEAKER 3: ${quote}`, { id: 't', sourceId: 't', origin: 't.txt', primary: true });
    const news = makeItem(`Gary Marcus said: “${quote}”`, { id: 'n', sourceId: 'n', origin: 'n.md' });
    const r = analyze([transcript, news], { themes, speakers, analyze: cfg });
    expect(r.quotes.find((q) => q.text === quote)?.speaker).toBe('gary-marcus');
  });

  it('a reply quoting an @handle the page ties to a name is that person’s words', () => {
    const text = `**Gary Marcus** (@gmarcus_ai) wrote:\n\n> ${quote}\n\n**Yann LeCun** wrote:\n\n> @gmarcus_ai "the labs have all known it for a year now" is doing a lot of work there, and it is not even right.`;
    expect(speakerOf(text, 'the labs have all known it for a year now').speaker).toBe('gary-marcus');
  });

  it('a first-name label is the one known speaker with that first name', () => {
    expect(speakerOf(`Dwarkesh: So what now?\nGary: ${quote}`, quote)).toEqual({ speaker: 'gary-marcus', method: 'label' });
  });

  it.each([
    ['a name, a few words, a colon', `If you read one sentence, make it this one. Marcus, verbatim:\n\n“${quote}”`, 'gary-marcus'],
    ['a sentence that opens with a name and ends in a colon', `Gary Marcus, the NYU emeritus, went further in his talk with Dwarkesh Patel: “${quote}”`, 'gary-marcus'],
    ['"He told Name," is the person named before the pronoun', `Sutskever was asked about it. He told Dwarkesh Patel, “${quote}”`, 'ilya-sutskever'],
  ])('%s', (_n, text, id) => expect(speakerOf(text, quote).speaker).toBe(id));

  it('in a transcript turn, a quote after a sentence naming someone else is that person’s, not the turn speaker’s', () => {
    const text = `Dwarkesh: Gary Marcus opened with the line “${quote}” Do you feel that?\nIlya: Not at all, and I have said why many times before.`;
    expect(speakerOf(text, quote, { primary: true }).speaker).toBe('gary-marcus');
  });

  it('a reply post’s quotations are not its author’s words, even when the author is its declared speaker', () => {
    const text = `Sutskever gave a long interview this week, and I disagree with most of it.\n\n> ${quote}\n\nThat is wrong.`;
    expect(speakerOf(text, quote, { speakers: ['gary-marcus'], author: 'Gary Marcus' }).speaker).toBe('ilya-sutskever');
    // Without a byline the declared speaker still applies (a page of someone's own remarks).
    expect(speakerOf(`Notes from the talk, lightly edited.\n\n> ${quote}`, quote, { speakers: ['gary-marcus'] }).speaker).toBe('gary-marcus');
  });

  it('a block quote after a paragraph that names one person is theirs; after a paragraph naming two, nobody’s', () => {
    expect(speakerOf(`At the meetup, Gary Marcus laid out the critics’ case.\n\n> ${quote}\n\nNot everyone agreed.`, quote)).toEqual({ speaker: 'gary-marcus', method: 'context' });
    expect(speakerOf(`Gary Marcus and Yann LeCun both spoke at the meetup.\n\n> ${quote}`, quote).speaker).toBeNull();
  });

  it('in a transcript, "He said, “…”" in an answer is the person the question named, not the first person the transcript names', () => {
    const text = `[00:00:05] Dwarkesh Patel: Welcome. I'm Dwarkesh Patel, and with me is Gary Marcus.\n[00:01:00] Dwarkesh Patel: Gary, the evals question. Sutskever suggested the labs train on the test.\n[00:01:10] Gary Marcus: I think that's overstated. He said, “${quote}” Fine, some teams do.`;
    expect(speakerOf(text, quote, { primary: true }).speaker).toBe('ilya-sutskever');
  });

  it('words a transcript speaker holds up to judge (“…” is a lovely sentence) are the last outsider’s the conversation named', () => {
    const text = `[00:06:40] Dwarkesh Patel: Sutskever described research taste as a top-down belief. Gary, is that science?\n[00:07:10] Gary Marcus: A belief that outlives a bad decade is a religion. “${quote}” is a lovely sentence, and it is wrong.`;
    expect(speakerOf(text, quote, { primary: true }).speaker).toBe('ilya-sutskever');
    // Said as his own words, it stays his.
    const own = `[00:06:40] Dwarkesh Patel: Sutskever described research taste as a top-down belief. Gary, is that science?\n[00:07:10] Gary Marcus: A belief is fine. “${quote}” That is what I would say.`;
    expect(speakerOf(own, quote, { primary: true }).speaker).toBe('gary-marcus');
  });

  it('someone a speech verb leaves unnamed (“one engineer said”) keeps their words unattributed, through “she said” and a second quote', () => {
    const q2 = 'It is just what you do when the benchmark is the only thing your manager can read.';
    const text = `Gary Marcus has been saying this for years.\n\nOne engineer at a large lab, who asked not to be named, said the teams “${quote}”\n\n“It is not cheating,” she said. “${q2}”`;
    const over = { title: 'Sutskever says the age of scaling is over' };
    expect(speakerOf(text, quote, over)).toEqual({ speaker: null, method: 'verb-name' });
    expect(speakerOf(text, q2, over).speaker).toBeNull();
    // Inside someone's own words, "the model says, “…”" is their hypothetical, not an unnamed speaker.
    const turn = `Dwarkesh: And then?\nIlya: You tell the model to fix it. And the model says, “${quote}” And it introduces a second bug.`;
    expect(speakerOf(turn, quote, { primary: true }).speaker).toBe('ilya-sutskever');
  });

  it('a quotation set into a sentence as an aside (“in Sutskever’s words”) does not take over the next “he added”', () => {
    const q2 = 'Nobody at the big labs will say this on the record, but the money is going into post-training.';
    const text = `“The cheap part of scaling is over and everyone knows it by now,” Marcus said.\n\nHe said the labs were shifting spending to reinforcement learning, where, in Sutskever's words, “${quote}”\n\n“${q2}” he added.`;
    expect(speakerOf(text, q2).speaker).toBe('gary-marcus');
  });

  it('of several people a paragraph names, the one who is its subject introduces the block quote or the action beat', () => {
    expect(speakerOf(`Gary Marcus's reply to Yann LeCun has been passed around all week. The sentence everyone shares is this one:\n\n> ${quote}`, quote).speaker).toBe('gary-marcus');
    expect(speakerOf(`Asked whether Sutskever's own company was a bet against scaling, LeCun laughed. “${quote}”`, quote).speaker).toBe('yann-lecun');
    // Two subjects are still nobody's.
    expect(speakerOf(`Marcus and LeCun, asked about Sutskever, traded barbs. “${quote}”`, quote).speaker).toBeNull();
  });

  it('a name with where they are from, then a colon, introduces their words (“belongs to Gary Marcus of NYU: …”)', () => {
    expect(speakerOf(`Sutskever's piece is the one to read. Its best quote belongs to Gary Marcus of New York University: “${quote}”`, quote).speaker).toBe('gary-marcus');
  });

  it('a sentence whose subject is a role (“the author is scornful:”) introduces someone unnamed, not the page’s declared speaker', () => {
    const over = { speakers: ['deepseek'] };
    expect(speakerOf(`On the eval passage, the author is scornful: “${quote}”`, quote, over)).toEqual({ speaker: null, method: 'verb-name' });
    expect(speakerOf(`The critique's author opens with the bug loop and draws the conclusion Sutskever does not:\n\n> ${quote}`, quote, over).speaker).toBeNull();
    // A named subject still speaks: "DeepSeek answers the claim:".
    expect(speakerOf(`DeepSeek answers the claim that the gap is a mystery:\n\n> ${quote}`, quote, over).speaker).toBe('deepseek');
  });

  it('a role that is named (“Its author, Gary Marcus, is blunt:”) is that person; a role the page declares (“the guest said”) stays the declared speaker', () => {
    expect(speakerOf(`Its author, Gary Marcus, is blunt: “${quote}”`, quote, { speakers: ['deepseek'] }).speaker).toBe('gary-marcus');
    expect(speakerOf(`Later in the interview the guest said, “${quote}”`, quote, { speakers: ['ilya-sutskever'] }).speaker).toBe('ilya-sutskever');
  });

  it('a block quote after a colon sentence that names someone it does not make its subject is nobody’s surely', () => {
    expect(speakerOf(`Gary Marcus wrote a long reply this week. The line he goes after is Sutskever's:\n\n> ${quote}`, quote).speaker).not.toBe('gary-marcus');
  });

  it('words judged in a transcript go to an outsider named nearby, not one named at the start of the show', () => {
    const turns = Array.from({ length: 6 }, (_, k) => `[00:0${k + 1}:00] ${k % 2 ? 'Gary Marcus' : 'Dwarkesh Patel'}: We keep talking about evals and compute and data, part ${k}.`);
    const text = [`[00:00:05] Dwarkesh Patel: Welcome. Yann LeCun was booked but could not come, so it is the two of us.`, ...turns, `[00:09:00] Gary Marcus: Fine. “${quote}” is a line I keep hearing, and it is wrong.`].join('\n');
    expect(speakerOf(text, quote, { primary: true }).speaker).not.toBe('yann-lecun');
  });

  it('“He described …, and said “…”” is the pronoun’s person, not someone unnamed', () => {
    const text = `Sutskever spoke for two hours.\n\nHe described the period before 2025 as a time when one recipe told everyone what to do, and said that the field is now back to “${quote}”`;
    expect(speakerOf(text, quote).speaker).toBe('ilya-sutskever');
  });

  it('a source cited in parentheses is not who the next “he” is', () => {
    const text = `He cast the environment builders as “the real reward hackers”. (Dwarkesh Podcast; the phrase as the DeepSeek dialogue reports it.)\n\nHe argued that what he expects is not “${quote}”`;
    expect(speakerOf(text, quote, { speakers: ['ilya-sutskever'] }).speaker).toBe('ilya-sutskever');
  });

  it('a name after a finished quote that goes on “Name agreed: “…”” introduces the next quote, not this one', () => {
    const q1 = 'I think the models seem smarter than their economic impact would imply.';
    const text = `Dwarkesh Patel opened the thread by observing, “${q1}” Sutskever agreed: “${quote}”`;
    expect(speakerOf(text, q1).speaker).not.toBe('ilya-sutskever');
    expect(speakerOf(text, quote).speaker).toBe('ilya-sutskever');
  });

  it('questions from the floor: the asker who gives their name, one who withholds it, and the panelist each question is for', () => {
    const q2 = 'Structure. Build in what evolution built in, a model of the world you can check, not a bigger table.';
    const text = [
      'Dwarkesh Patel: Let us go to the floor. Tell us who the question is for.',
      'Q: Gary Marcus, New York University. This one is for Demis. If RL is where the compute goes, how do you know you are not training to the evals?',
      `A: ${quote}`,
      'Q: I would rather not give my name. For Dr. LeCun: if not scaling, then what?',
      `A: ${q2}`,
      'Q: Sam Altman, who runs OpenAI, says the curves still hold. Do they?',
      'A: They hold on the tasks we chose, and I have said so before.',
    ].join('\n');
    const over = { primary: true, speakers: ['dwarkesh-patel', 'demis-hassabis', 'yann-lecun'] };
    const r = run(text, over);
    const who = (start: string) => r.quotes.find((x) => x.text.startsWith(start))?.speaker;
    expect(who('Gary Marcus, New York University.')).toBe('gary-marcus');
    expect(who(quote)).toBe('demis-hassabis');
    expect(who('I would rather not give my name.')).toBeNull();
    expect(who('Structure.')).toBe('yann-lecun');
    // A host's question that opens on someone else's name is still the host's.
    expect(who('Sam Altman, who runs OpenAI')).toBe('dwarkesh-patel');
  });

  it('a phrase quoted in an earlier paragraph is not who the next “she said” is; the paragraph’s subject is', () => {
    const text = `Gary Marcus runs compute planning at a large lab. When Ilya Sutskever said the field was back in “the age of research,” his phone started ringing.\n\n“${quote}” he said.`;
    expect(speakerOf(text, quote).speaker).toBe('gary-marcus');
  });

  it('a second quote after “said Name, who … Other …” continues Name, and names inside quoted words are no one’s subject', () => {
    const q2 = 'If your held-out tasks were chosen by the people who train the model, they are not held out.';
    const text = `“Sam Altman is measuring a curve on tests his own company wrote,” said Gary Marcus, who sat next to Altman on a panel last week. “${q2}”`;
    expect(speakerOf(text, q2, { title: 'Sam Altman bets on scale' }).speaker).toBe('gary-marcus');
  });

  it('“he told me” after the text moved on from the last quote, which ended its own sentence, is the paragraph’s subject', () => {
    const q2 = 'Held-out task families still come from the same list of things engineers think to test.';
    const text = `Gary Marcus asked whether the labs train to the evals. Demis Hassabis conceded part of the point: “${quote}” Marcus was not persuaded by the rest. “${q2}” he told me afterwards.`;
    expect(speakerOf(text, q2).speaker).toBe('gary-marcus');
  });

  it('action beats with a pronoun or an asked person: “She added that …. “…””, “I asked Marcus whether …. “…””', () => {
    const q2 = 'It just measures the wrong thing, and it measures it very precisely indeed.';
    const text = `Gary Marcus has heard that before. “${quote}” he said by phone. He added that the plot was honest as far as it went. “${q2}”`;
    expect(speakerOf(text, q2, { title: 'Sam Altman bets on scale' }).speaker).toBe('gary-marcus');
    expect(speakerOf(`I asked Marcus whether he accepted any of the reply. “${quote}” He would not say more.`, quote).speaker).toBe('gary-marcus');
  });

  it('a possessive on a word for what someone said may go on with “that” (“Sutskever’s own line that “…””)', () => {
    expect(speakerOf(`He points to Sutskever's own line that “${quote}” as evidence.`, quote, { title: 'Sam Altman bets on scale' }).speaker).toBe('ilya-sutskever');
  });

  it('a second review’s cases: an interview about someone is not a question for them, and other look-alikes', () => {
    const A = 'We are back in the age of research again, just with big computers, and that is fine.';
    const B = 'We will keep scaling for years, and the curves will keep bending the right way.';
    const qa = (question: string) => run(`Q: ${question}\nA: ${A}`, { primary: true, speakers: ['dwarkesh-patel', 'gary-marcus'] }).quotes.find((x) => x.text === A)?.speaker;
    expect(qa('Ilya Sutskever said on the podcast that the age of scaling is over. What is your response to Sutskever on that?')).toBe('gary-marcus');
    expect(qa('Going back to Sutskever and his interview last week, do you think scaling is done?')).toBe('gary-marcus');
    const host = run(`Host: Demis Hassabis, CEO of Google DeepMind. Welcome to the show, it is a real pleasure.\nGuest: ${A}`, { primary: true, speakers: ['dwarkesh-patel', 'demis-hassabis'] });
    expect(host.quotes.find((x) => x.text.startsWith('Demis Hassabis, CEO'))?.speaker).toBe('dwarkesh-patel');
    const anon = run(`Q: An anonymous researcher at a big lab told me the curves are bending already. Are they?\nA: ${A}`, { primary: true, speakers: ['dwarkesh-patel', 'gary-marcus'] });
    expect(anon.quotes.find((x) => x.text.startsWith('An anonymous researcher'))?.speaker).toBe('dwarkesh-patel');
    // Only an appositive after the speaker's name is excused in a continuation, not a new subject.
    expect(speakerOf(`“${A}” said Gary Marcus, and Sam Altman laughed. “${B}”`, B).speaker).not.toBe('gary-marcus');
    // A short reply with its own tag is still the last voice; so is a quote whose tag follows its full stop.
    expect(speakerOf(`Sutskever was asked about Gary Marcus on stage. “Not at all,” Marcus replied.\n\n“${B}” he added.`, B).speaker).toBe('gary-marcus');
    expect(speakerOf(`Sam Altman had just finished. “${A}” Marcus said, turning to Altman. “${B}” he added.`, B).speaker).toBe('gary-marcus');
    // A possessive after a role does not name it; two people asked are nobody surely.
    expect(speakerOf(`One critic, Gary Marcus's former student, was blunt: “${A}”`, A, { speakers: ['ilya-sutskever'] }).speaker).not.toBe('gary-marcus');
    expect(speakerOf(`We asked Sam Altman and Gary Marcus the same question. “${A}”`, A).speaker).toBeNull();
  });

  it('below the threshold the speaker is null', () => {
    const r = analyze([makeItem(`Somebody on a forum wrote “${quote}”`)], { themes, speakers, analyze: cfg });
    expect(r.quotes.find((q) => q.text === quote)!.speaker).toBeNull();
  });

  it('a hypothetical voice inside a speaker’s turn is that speaker’s', () => {
    const text = `Host: And then?\nIlya: Then you tell the model, “Can you please fix the bug now, please?” and it does not.`;
    expect(speakerOf(text, 'Can you please fix the bug now, please?').speaker).toBe('ilya-sutskever');
  });
});

describe('colon-introduced block quotes', () => {
  it('"… went to Marcus:" then a > block quote is Marcus’s', () => {
    const q = 'Scaling has hit a wall and everyone can see it now, even the believers.';
    expect(speakerOf(`The last word, by forum votes, went to Marcus:\n\n> ${q}`, q).speaker).toBe('gary-marcus');
  });

  it('"Gary Marcus wrote:" then a > block quote', () => {
    const q = 'Scaling has hit a wall and everyone can see it now, even the believers.';
    expect(speakerOf(`Gary Marcus wrote:\n\n> ${q}\n\nMore text.`, q)).toEqual({ speaker: 'gary-marcus', method: 'verb-name' });
  });
});

describe('slogans and words never said (regressions from the seed gold)', () => {
  const transcript = [
    'Q: What changed?',
    'DeepSeek: Sutskever was the high priest of “scaling is all you need, really,” a stance that dismissed innate structure.',
    'Q: And then?',
    'DeepSeek: Sutskever was a leading voice of that gospel: “Scaling is all you need, really.” Now it is the age of research, without ever saying, “We were mistaken to dismiss these things.”',
  ].join('\n');
  const r = analyze([makeItem(transcript)], { themes, speakers, analyze: cfg });

  it('a slogan quoted as a noun phrase stays nobody’s, though a weak guess elsewhere in the piece names someone', () => {
    const slogan = r.quotes.filter((q) => /^scaling is all you need, really/i.test(q.text));
    expect(slogan.length).toBeGreaterThan(0);
    for (const q of slogan) expect(q.speaker).toBeNull();
  });

  it('words introduced as never said (“without ever saying, …”) are nobody’s', () => {
    const q = r.quotes.find((x) => x.text.startsWith('We were mistaken'))!;
    expect(q.speaker).toBeNull();
  });
});
