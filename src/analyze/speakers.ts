import type { AttributionMethod, SpeakerConfig, SourceItem } from '../model.js';
import { splitSentences, type Span } from './paragraphs.js';
import type { RawQuote } from './quotes.js';

/**
 * Who said a quote. Passes run in order of trust — label > dash > verb+name > verb+pronoun > the item's
 * declared speaker — and the first that fires decides, with a confidence the caller compares against
 * analyze.attributionThreshold. An explicit attribution to someone not in speakers.yaml (a dash naming
 * Alan Turing) stops the later passes: we know it is not the declared speaker, so the answer is null.
 */

export interface Attribution {
  speaker: string | null;
  method: AttributionMethod;
  confidence: number;
}

export interface SpeakerIndex {
  speakers: SpeakerConfig[];
  /** Resolve a name as written ("Sutsekver", "Le Cun", "Ilya Sutskever's") to a speaker id. */
  resolve(name: string): string | null;
  /** Resolve a transcript label: a name as in resolve, or a first name only one known speaker has ("Mara:"). */
  resolveLabel(label: string): string | null;
  /** Every mention of a known speaker in text[start, end). */
  mentions(text: string, start?: number, end?: number): Mention[];
}

export interface Mention extends Span {
  /** A speaker id, or UNKNOWN_PERSON for a named person who is not in speakers.yaml. */
  speaker: string;
}

export const UNKNOWN_PERSON = '?';

function fold(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[’']s$/, '')
    .replace(/[^a-z0-9 ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Damerau–Levenshtein distance ≤ 1 (one typo: swap, drop, add or change a letter). */
function oneTypo(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function buildSpeakerIndex(speakers: SpeakerConfig[]): SpeakerIndex {
  const exact = new Map<string, string>();
  const names: { form: string; id: string }[] = [];
  for (const s of speakers) {
    for (const n of [s.name, s.id, ...s.aliases]) {
      const f = fold(n);
      if (!f) continue;
      if (!exact.has(f)) exact.set(f, s.id);
      if (n !== s.id) names.push({ form: n, id: s.id });
    }
  }
  // Long surnames tolerate one typo ("Sutskevr"); short names do not, "Patel" ≠ "Pattel" is too risky.
  const fuzzy = [...exact.entries()].filter(([f]) => f.length >= 7 && !f.includes(' '));
  const resolve = (name: string): string | null => {
    const f = fold(name);
    if (!f) return null;
    const hit = exact.get(f);
    if (hit) return hit;
    const words = f.split(' ');
    // "Ilya Sutskever, SSI co-founder" → try the leading words, then each word on its own.
    for (let n = Math.min(3, words.length); n >= 1; n--) {
      const h = exact.get(words.slice(0, n).join(' '));
      if (h) return h;
    }
    for (const w of words) {
      if (w.length < 7) continue;
      const fz = fuzzy.find(([k]) => oneTypo(k, w));
      if (fz) return fz[1];
    }
    return null;
  };
  names.sort((a, b) => b.form.length - a.form.length);
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${names.map((n) => escape(n.form)).join('|')})(?![\\p{L}\\p{N}])`,
    'gu',
  );
  const formToId = new Map(names.map((n) => [n.form.toLowerCase(), n.id]));
  const surnameRe = /(?<![\p{L}])[A-Z][\p{L}]{6,}(?![\p{L}])/gu;
  const mentions = (text: string, start = 0, end = text.length): Mention[] => {
    const out: Mention[] = [];
    if (names.length === 0) return out;
    const slice = text.slice(start, end);
    for (const m of slice.matchAll(pattern)) {
      const id = formToId.get(m[0].toLowerCase());
      if (id) out.push({ start: start + m.index!, end: start + m.index! + m[0].length, speaker: id });
    }
    // Misspelled surnames ("Sutskevr") that are not in the alias list.
    for (const m of slice.matchAll(surnameRe)) {
      const s = start + m.index!;
      if (out.some((o) => o.start <= s && o.end > s)) continue;
      const w = fold(m[0]);
      if (exact.has(w)) continue;
      const fz = fuzzy.find(([k]) => oneTypo(k, w));
      if (fz) out.push({ start: s, end: s + m[0].length, speaker: fz[1] });
    }
    out.sort((a, b) => a.start - b.start);
    // "Ilya Sutskevr": the alias and the misspelled surname are one mention.
    const merged: Mention[] = [];
    for (const m of out) {
      const last = merged[merged.length - 1];
      if (last && last.speaker === m.speaker && /^\s*$/.test(text.slice(last.end, m.start)) && m.start >= last.end) last.end = m.end;
      else merged.push({ ...m });
    }
    return merged;
  };
  const byFirstName = new Map<string, string | null>();
  for (const s of speakers) {
    const first = fold(s.name).split(' ')[0];
    if (!first || first === fold(s.name)) continue;
    byFirstName.set(first, byFirstName.has(first) && byFirstName.get(first) !== s.id ? null : s.id);
  }
  const resolveLabel = (label: string): string | null => {
    const id = resolve(label);
    if (id || /\s/.test(label.trim())) return id;
    return byFirstName.get(fold(label)) ?? null;
  };
  return { speakers, resolve, resolveLabel, mentions };
}

const SPEECH_VERBS =
  'says|said|say|saying|tweeted|tweets|posted|posts|commented|comments|countered|counters|retorted|objected|objects|disputed|disputes|pushed back|pushes back|shot back|cautioned|cautions|predicted|predicts|acknowledged|acknowledges|stressed|stresses|emphasized|emphasised|pointed out|points out|wrote in|told|quipped|joked|jokes|summed up|sums up|put it this way|replied|laughed|added|argues|argued|argue|notes|noted|explains|explained|adds|added|writes|wrote|tells|told|claims|claimed|admits|admitted|calls|called|puts it|put it|asks|asked|suggests|suggested|insists|insisted|warns|warned|recalls|recalled|describes|described|concedes|conceded|concludes|concluded|continues|continued|goes on|went on|replies|replied|responds|responded|answers|answered|declares|declared|observes|observed|remarks|remarked|states|stated|believes|thinks|quips|quipped|frames|framed|reframes|mused|muses|offers|offered|explicitly says|dryly calls|according to';
const VERB = `(?:${SPEECH_VERBS})`;
const PRONOUN = '(?:he|she|He|She)';

export interface AttributionContext {
  text: string;
  item: SourceItem;
  quotes: RawQuote[];
  index: SpeakerIndex;
  /** Attribution already computed for enclosing quotes (by index into quotes). */
  done: Map<number, Attribution>;
  /** Speaker mentions in the whole text, turn labels excluded. */
  mentions: Mention[];
  /** Speakers named in the item's title, for items that declare none. */
  titleSpeakers: string[];
  /** Who a generic turn label ("SPEAKER 2", "A") stands for in this item, from its introduction (labelRoster). */
  roster?: Map<string, Attribution>;
}

const NUMBERED = /^(?:SPEAKER|Speaker)[ _]?(\d+)$/;

/**
 * Who the generic labels of a transcript stand for, read from the text: "SPEAKER 2 is Mara Quill",
 * "Speaker 2 (Mara Quill)", "Mara Quill (SPEAKER 2)", "SPEAKER 2 = Quill", then what the turns themselves
 * tell (learnFromTurns); and for Q/A interviews, the answers are the one guest the introduction before the
 * first turn names. `firstTurn` is where the first turn starts.
 */
export function labelRoster(
  text: string,
  labels: string[],
  index: SpeakerIndex,
  firstTurn: number,
  /** The turns in order (numbered labels are worked out from who introduces and who is handed the word). */
  turns: readonly { label: string; start: number; end: number }[] = [],
  /** The item's declared speakers: when all numbered labels but one are known, the last is the one left. */
  declaredSpeakers: readonly string[] = [],
): Map<string, Attribution> {
  const roster = new Map<string, Attribution>();
  const numbers = new Map<string, string>();
  for (const l of labels) {
    const m = NUMBERED.exec(l);
    if (m) numbers.set(m[1]!, l);
  }
  if (numbers.size > 0) {
    // Words of a name: capitalised, an initial may carry a full stop, a sentence's full stop ends the name.
    const name = "([A-Z](?:\\.|[\\p{L}'’\\-]+)(?:[ \\t]+[A-Z](?:\\.|[\\p{L}'’\\-]+)){0,3})";
    const forward = new RegExp(`\\b(?:SPEAKER|Speaker)[ _]?(\\d+)\\)?[ \\t]*(?:is|was|=|:|—|–|-|\\()[ \\t]*(?:the [\\p{L} ,-]{1,40}?,[ \\t]*)?${name}`, 'gu');
    const backward = new RegExp(`${name}[ \\t]*[(\\[](?:SPEAKER|Speaker)[ _]?(\\d+)[)\\]]`, 'gu');
    const learn = (n: string, who: string): void => {
      const label = numbers.get(n);
      if (!label || roster.has(label)) return;
      // "With Gary Marcus (SPEAKER 2)": the longest run of its words that names someone.
      const words = who.split(/\s+/);
      for (let len = words.length; len >= 1; len--) {
        for (let from = 0; from + len <= words.length; from++) {
          const id = index.resolve(words.slice(from, from + len).join(' '));
          if (id) {
            roster.set(label, { speaker: id, method: 'label', confidence: 0.9 });
            return;
          }
        }
      }
    };
    // Not a turn's own label: "SPEAKER 1: Desmond, you sign those bills" is speaker 1 talking to Desmond.
    const inLabel = (at: number) => turns.some((t) => at < t.start && at >= text.lastIndexOf('\n', t.start - 1) + 1);
    for (const m of text.matchAll(forward)) if (!inLabel(m.index!)) learn(m[1]!, m[2]!);
    for (const m of text.matchAll(backward)) learn(m[2]!, m[1]!);
    learnFromTurns(text, turns, index, roster, new Set(numbers.values()), declaredSpeakers);
  }
  // Q/A: answers are the one guest the introduction names. Not the questions: a host named in passing ("on
  // Dwarkesh's podcast") is often not the one asking here (a blog author interviewing a chatbot).
  const intro = index.mentions(text, 0, Math.max(0, firstTurn)).map((m) => index.speakers.find((s) => s.id === m.speaker)).filter((s) => s !== undefined);
  const guests = [...new Set(intro.filter((s) => !s.interviewer).map((s) => s.id))];
  for (const l of labels) {
    if (!roster.has(l) && GENERIC_A.test(l) && guests.length === 1) roster.set(l, { speaker: guests[0]!, method: 'label', confidence: 0.7 });
  }
  return roster;
}

/**
 * Numbered labels no line names: a speaker who introduces themself ("I'm Kalani Fairweather"), the next
 * speaker when a turn hands them the word ("Oksana, you first." / "Desmond, is the return still there?"), and
 * when every numbered label but one is known, the one declared speaker left. Each clue is a vote; a label
 * takes a name only when its votes agree and no other label has taken it.
 */
function learnFromTurns(
  text: string,
  turns: readonly { label: string; start: number; end: number }[],
  index: SpeakerIndex,
  roster: Map<string, Attribution>,
  numbered: Set<string>,
  declaredSpeakers: readonly string[],
): void {
  const votes = new Map<string, Map<string, number>>();
  const vote = (label: string, id: string | null, weight: number) => {
    if (!id || !numbered.has(label) || roster.has(label)) return;
    const v = votes.get(label) ?? new Map<string, number>();
    v.set(id, (v.get(id) ?? 0) + weight);
    votes.set(label, v);
  };
  const name = "([A-Z][\\p{L}'’\\-]+(?:[ \\t]+[A-Z][\\p{L}'’\\-]+){0,2})";
  const selfIntro = new RegExp(`\\b(?:I['’]m|I am|my name is|this is)[ \\t]+${name}`, 'gu');
  // A first name or full name set off by a comma at the start of a sentence, or before a closing "?".
  const handOver = new RegExp(`(?:^|[.!?][ \\t]+)${name},[^.!?]*[.?!]?\\s*$|,[ \\t]*${name}\\?\\s*$`, 'u');
  turns.forEach((t, k) => {
    const said = text.slice(t.start, t.end);
    for (const m of said.matchAll(selfIntro)) vote(t.label, index.resolveLabel(m[1]!) ?? index.resolve(m[1]!), 2);
    const next = turns.slice(k + 1).find((o) => o.label !== t.label);
    const h = handOver.exec(said.slice(-200));
    if (next && h && turns[k + 1]?.label !== t.label) {
      const who = h[1] ?? h[2]!;
      vote(next.label, index.resolveLabel(who) ?? index.resolve(who), 1);
    }
  });
  const taken = new Set([...roster.values()].map((a) => a.speaker));
  for (const [label, v] of votes) {
    const ranked = [...v].sort((a, b) => b[1] - a[1]);
    const [id, n] = ranked[0]!;
    if (ranked[1] && ranked[1][1] === n) continue;
    if (taken.has(id)) continue;
    roster.set(label, { speaker: id, method: 'label', confidence: 0.85 });
    taken.add(id);
  }
  const open = [...numbered].filter((l) => !roster.has(l));
  const left = [...new Set(declaredSpeakers)].filter((id) => !taken.has(id) && index.speakers.some((s) => s.id === id));
  if (open.length === 1 && left.length === 1) roster.set(open[0]!, { speaker: left[0]!, method: 'label', confidence: 0.8 });
}

const GENERIC_Q = /^(?:Q|Question|Host|Interviewer|Moderator)$/;
const GENERIC_A = /^(?:A|Answer|Guest|Interviewee)$/;

function declared(ctx: AttributionContext): Attribution | null {
  const pick = (ids: string[]): string | null => {
    const uniq = [...new Set(ids)];
    const known = uniq.filter((id) => ctx.index.speakers.some((s) => s.id === id));
    const guests = known.filter((id) => !ctx.index.speakers.find((s) => s.id === id)?.interviewer);
    if (guests.length === 1) return guests[0]!;
    if (known.length === 1) return known[0]!;
    return null;
  };
  const d = pick(ctx.item.speakers);
  if (d) return { speaker: d, method: 'declared', confidence: 0.7 };
  const t = pick(ctx.titleSpeakers);
  if (t) return { speaker: t, method: 'declared', confidence: 0.6 };
  return null;
}

/**
 * Generic Q/A turns whose speaker changes from turn to turn, as questions from the floor do: a question that
 * opens with a known person's name ("Q: Ravi Kulasekaran, University of Tartu. …") is theirs, one whose asker
 * withholds their name is nobody's, and the answer after a question for someone ("This one is for Signe.", "For
 * Dr. Tarrant:") is that person's. Anything else is left to the label.
 */
function floorTurn(qi: number, ctx: AttributionContext): Attribution | null {
  const q = ctx.quotes[qi]!;
  const words = ctx.text.slice(q.start, q.end);
  // (Panelists and guests, the ones the page declares, do not ask from the floor: "Host: Demis Hassabis, CEO of
  // Google DeepMind. Welcome…" is the host greeting a guest.)
  const declaredIds = new Set(ctx.item.speakers);
  if (GENERIC_Q.test(q.label!)) {
    if (/^[^.]{0,80}\b(?:I(?:'|’)d rather not|I would rather not|not (?:give|say) my name|(?:I'm|I’m|I am|speaking|asking) anonymously)\b/i.test(words)) return { speaker: null, method: 'label', confidence: 0.9 };
    // ("Name, Affiliation." or "Name." opening the question; not "Jonas Feld, who used to build…, says".)
    const asker = ctx.mentions.find((m) => m.start === q.start && m.speaker !== UNKNOWN_PERSON && !declaredIds.has(m.speaker) && /^(?:\s*,\s*(?:from\s+)?[\p{Lu}][^\n.,;:]{0,60})?\.\s/u.test(ctx.text.slice(m.end, m.end + 80)));
    return asker ? { speaker: asker.speaker, method: 'label', confidence: 0.85 } : null;
  }
  if (!GENERIC_A.test(q.label!)) return null;
  let prev: RawQuote | null = null;
  for (const o of ctx.quotes) if (o.form === 'turn' && o.end <= q.start && (!prev || o.end > prev.end)) prev = o;
  if (!prev || !prev.label || !GENERIC_Q.test(prev.label)) return null;
  // A hand-off that opens its sentence ("This one is for Signe.", "For Dr. Tarrant:", "Question to Marcus:"), to
  // someone the page declares: not "what is your response to Sutskever?".
  const addressed = ctx.mentions.filter(
    (m) =>
      m.start >= prev!.start &&
      m.end <= prev!.end &&
      declaredIds.has(m.speaker) &&
      /(?:^|[.!?:]\s+)(?:This (?:one|question) is |(?:My |A |The )?[Qq]uestion (?:is )?)?(?:[Ff]or|[Tt]o)\s+(?:(?:Dr|Prof|Professor|Mr|Ms|Mrs)\.?\s+)?$/.test(ctx.text.slice(Math.max(prev!.start, m.start - 40), m.start)),
  );
  const to = addressed[addressed.length - 1];
  return to ? { speaker: to.speaker, method: 'label', confidence: 0.85 } : null;
}

function labelSpeaker(label: string, ctx: AttributionContext): Attribution {
  const id = ctx.index.resolve(label);
  if (id) return { speaker: id, method: 'label', confidence: 0.95 };
  // "Mara:" for Mara Quill, when no other known speaker shares the first name.
  const first = ctx.index.resolveLabel(label);
  if (first) return { speaker: first, method: 'label', confidence: 0.85 };
  // Q/A transcripts: map the generic labels onto the declared interviewer and guest when there is one of each.
  const decl = ctx.item.speakers.map((s) => ctx.index.speakers.find((k) => k.id === s)).filter((s) => s !== undefined);
  const hosts = decl.filter((s) => s.interviewer);
  const guests = decl.filter((s) => !s.interviewer);
  if (GENERIC_Q.test(label) && hosts.length === 1) return { speaker: hosts[0]!.id, method: 'label', confidence: 0.8 };
  if (GENERIC_A.test(label) && guests.length === 1) return { speaker: guests[0]!.id, method: 'label', confidence: 0.8 };
  const known = ctx.roster?.get(label);
  if (known) return known;
  return { speaker: null, method: 'label', confidence: 0.9 };
}

/** The sentence (or clause run) just before a quote, plus the text after its closing mark up to the sentence end. */
function around(text: string, q: RawQuote, floor: number): { before: string; beforeStart: number; after: string } {
  const lineStart = text.lastIndexOf('\n', q.start - 1) + 1;
  let beforeStart = Math.max(floor, lineStart, q.start - 200);
  let before = text.slice(beforeStart, q.start);
  // A quote that starts its line and follows a line ending in ":" is introduced by that line.
  if (before.replace(/[“”"‘’'>\s]/g, '') === '' && lineStart > floor) {
    const prevEnd = lineStart - 1;
    const prevText = text.slice(Math.max(floor, prevEnd - 400), prevEnd);
    if (/:\s*$/.test(prevText)) {
      const sents = splitSentences(prevText);
      const last = sents[sents.length - 1];
      if (last) {
        beforeStart = Math.max(floor, prevEnd - 400) + last.start;
        before = text.slice(beforeStart, q.start);
      }
    }
  } else {
    const sents = splitSentences(before);
    const last = sents[sents.length - 1];
    // Keep the last sentence only ("…wall. He says, “" → "He says, “").
    if (last && sents.length > 1) {
      beforeStart += last.start;
      before = text.slice(beforeStart, q.start);
    }
  }
  const eol = text.indexOf('\n', q.end);
  const lineEnd = eol === -1 ? text.length : eol;
  const afterRaw = text.slice(q.end, Math.min(lineEnd, q.end + 120));
  const stop = afterRaw.search(/[.!?](?:\s|$)/);
  const after = stop === -1 ? afterRaw : afterRaw.slice(0, stop + 1);
  return { before, beforeStart, after };
}

/** The closest quote ending before this one that is not its container (with its attribution, if done). */
function previousQuote(ctx: AttributionContext, qi: number): { quote: RawQuote; attr: Attribution } | null {
  const q = ctx.quotes[qi]!;
  let best: { quote: RawQuote; attr: Attribution } | null = null;
  ctx.quotes.forEach((o, i) => {
    if (i === qi || o.end > q.start || o.form === 'turn') return;
    const attr = ctx.done.get(i);
    if (!attr || o.parent !== q.parent) return;
    if (!best || o.end > best.quote.end) best = { quote: o, attr };
  });
  return best;
}

const NEVER_SAID =
  /\b(?:without (?:ever )?(?:saying|admitting|conceding)|never (?:says|said|saying|admits|admitted)|(?:won['’]t|doesn['’]t|didn['’]t|will not|does not|did not) (?:ever )?(?:say|admit))\b[\s,:]*[“"‘]?\s*$/i;

/** A sentence opening on a person named by role ("the author", "One engineer at a large lab", "Its critic's verdict"). */
const UNNAMED_ROLE =
  /^(?:[^,:;]{0,50},\s*)?(?:the|a|an|one|its|this|that|our|their)\s+(?:[\p{L}’'-]+\s+){0,3}?(?:author|writer|critic|reader|engineer|researcher|commenter|poster|spokesperson|spokesman|spokeswoman|executive|analyst|investor|blogger|reporter|official|employee|scientist)s?\b/iu;

/** Before a quote: "…, in Sutskever's words, “" in the middle of a sentence. */
const ASIDE = /[\p{Ll},;]\s+in\s+(?:[\p{Lu}][\p{L}’'.-]*\s+){0,3}?[\p{Lu}][\p{L}’'-]*['’]s\s+(?:own\s+)?words[\s,:]*[“"‘]?$/u;

/** After a quote: the quote is the subject of a judgement of it as words ("“…” is a lovely sentence"). */
const QUOTE_JUDGED = /^[”"’]?\s*(?:is|was|remains)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?(?:sentence|line|quote|quotation|phrase|slogan|soundbite|formulation|way to put it)\b/i;

const HYPOTHETICAL =
  /\b(?:you|they|I|we|it|model|people|someone|one)\s+(?:\w+\s+){0,2}(?:say|says|said|tell|tells|told|ask|asks|go|goes|think|thinks)\b(?:\s+[\w’']+){0,3}[,:]?\s*$/i;

/**
 * Whether a mention is the subject of its sentence, as far as word order tells: the sentence opens with it,
 * after at most one word ("Later Quill…") or a short phrase set off by a comma ("Asked about it, Marcus…",
 * "At the meetup, Mara Quill…"). Not "It then names the move it sees in Sutskever's framing".
 */
function isSubject(text: string, floor: number, m: Mention): boolean {
  const sents = splitSentences(text, floor, m.start);
  const last = sents[sents.length - 1];
  const lead = text.slice(last && !/[.!?]["”’)]?\s*$/.test(text.slice(last.start, m.start)) ? last.start : m.start, m.start).replace(/^[\s>*_“"‘]+/, '');
  if (lead === '') return true;
  const words = lead.trim().split(/\s+/);
  if (words.length <= 1 || (words.length <= 6 && /,\s*$/.test(lead))) return true;
  // "Asked whether SSI was a bet against scaling, Pettigrew laughed.": a long opening clause, then the name
  // and a short predicate that ends the sentence.
  return /,\s*$/.test(lead) && /^\s+(?:[\p{Ll}’'-]+\s+){0,3}[\p{Ll}’'-]+[.:]/u.test(text.slice(m.end, m.end + 60));
}

/** Whether the sentence text[from, to) opens on a person named by role, with no known name before the role. */
function introducedByRole(ctx: AttributionContext, from: number, to: number): boolean {
  const sentence = ctx.text.slice(from, to);
  const lead = sentence.length - sentence.replace(/^[\s>*_”"’]+/, '').length;
  const role = UNNAMED_ROLE.exec(sentence.slice(lead));
  if (!role) return false;
  const roleEnd = from + lead + role.index + role[0].length;
  // ("Its author, Gary Marcus, is blunt:" names the role.)
  return !ctx.mentions.some((m) => (m.start >= from && m.end <= roleEnd) || (m.start >= roleEnd && /^[\s,]*$/.test(ctx.text.slice(roleEnd, m.start)) && !/^['’]s\b/.test(ctx.text.slice(m.end, m.end + 2))));
}

/** The one known person text[from, to) names, when they are also a sentence's subject there; else null. */
function soleSubject(ctx: AttributionContext, from: number, to: number): string | null {
  // (Names inside someone's quoted words are not the narration's subjects: "“Signe is measuring…,” said Solvang.")
  const named = ctx.mentions.filter((m) => m.start >= from && m.end <= to && !ctx.quotes.some((o) => o.form === 'marks' && o.start <= m.start && o.end >= m.end));
  if (named.some((m) => m.speaker === UNKNOWN_PERSON)) return null;
  // Several people named, one of them as a subject: "Tobiah Brannigan's reply to Saoirse Dunleavy has been
  // passed around all week", "Asked about Sutskever, Pettigrew laughed."
  const asSubject = named.map((m) => isSubject(ctx.text, from, m));
  // ...but "Marcus and LeCun traded barbs" has two.
  named.forEach((m, k) => {
    const next = named[k + 1];
    if (next && asSubject[k] && /^\s*(?:,|and|&|,\s*and)\s*$/.test(ctx.text.slice(m.end, next.start))) asSubject[k + 1] = true;
  });
  const subjects = new Set(named.filter((_, k) => asSubject[k]).map((m) => m.speaker));
  return subjects.size === 1 ? [...subjects][0]! : null;
}

/** Words a speech verb gives to someone the text does not name ("one engineer said"): null, but not unknown. */
function unnamed(attr: Attribution): boolean {
  return attr.speaker === null && (attr.method === 'verb-name' || attr.method === 'verb-pronoun');
}

function lastNamedBefore(ctx: AttributionContext, pos: number, exclude: string | null, floor = 0, counts: (m: Mention) => boolean = () => true): string | null {
  for (let i = ctx.mentions.length - 1; i >= 0; i--) {
    const m = ctx.mentions[i]!;
    if (m.end <= pos && m.start >= floor && m.speaker !== exclude && counts(m)) return m.speaker === UNKNOWN_PERSON ? null : m.speaker;
  }
  return null;
}

export function attribute(qi: number, ctx: AttributionContext): Attribution {
  const q = ctx.quotes[qi]!;
  const { text, index } = ctx;
  const parent = q.parent !== null ? ctx.quotes[q.parent]! : null;
  const parentAttr = q.parent !== null ? ctx.done.get(q.parent) ?? null : null;

  // A headline or title in quotes is nobody's words.
  if (q.title) return { speaker: null, method: 'none', confidence: 0 };

  // 1. label: a transcript turn. Questions from the floor name their asker and the panelist they are for.
  if (q.form === 'turn' && q.label) return floorTurn(qi, ctx) ?? labelSpeaker(q.label, ctx);

  // 2. dash: "— Name" on the next line or right after the closing mark.
  if (q.label) {
    const id = index.resolve(q.label);
    return { speaker: id, method: 'dash', confidence: id ? 0.95 : 0.9 };
  }

  const floor = parent ? parent.start : 0;
  const { before, beforeStart, after } = around(text, q, floor);
  // Where the quote's line (its paragraph, or its turn) starts: several passes below read from there.
  const lineStart = text.lastIndexOf('\n', q.start - 1) + 1;
  // "…without ever saying, “We were mistaken”": words introduced as never said are nobody's.
  if (NEVER_SAID.test(before)) return { speaker: null, method: 'none', confidence: 0 };
  const namesBefore = ctx.mentions.filter((m) => m.start >= beforeStart && m.end <= q.start && m.speaker !== UNKNOWN_PERSON);
  const afterStart = q.end;
  const namesAfter = ctx.mentions.filter((m) => m.start >= afterStart && m.end <= afterStart + after.length + 2 && m.speaker !== UNKNOWN_PERSON);

  // 3. verb + name: "Sutskever said", "said Sutskever", "according to LeCun", "Marcus: “…”", "In Ilya's words".
  // The speaker is the subject: in "Sutskever told Dwarkesh Patel that “…”" the name before the verb.
  const verbRe = new RegExp(`\\b(?:${VERB}|According to)\\b`, 'g');
  const verbs = [...before.matchAll(verbRe)];
  const lastVerb = verbs[verbs.length - 1];
  if (lastVerb) {
    const verb = lastVerb[0].toLowerCase();
    const verbAt = beforeStart + lastVerb.index!;
    const subj = namesBefore.filter((m) => m.end <= verbAt);
    const subject = subj[subj.length - 1];
    const objectLike = namesBefore.find((m) => m.start >= verbAt + lastVerb[0].length && /^\s*$/.test(text.slice(verbAt + lastVerb[0].length, m.start)));
    if (subject && verbAt - subject.end < 80 && verb !== 'according to') {
      return { speaker: subject.speaker, method: 'verb-name', confidence: 0.85 };
    }
    // "said Sam Altman, “…”" / "according to LeCun: “…”": the name right after the verb.
    // (Not "He told Dwarkesh Patel, “…”": the pronoun is the subject, the name after the verb is who was told.)
    const pronounSubject = new RegExp(`\\b${PRONOUN}\\s+(?:\\w+\\s+){0,2}$`).test(text.slice(Math.max(beforeStart, verbAt - 30), verbAt));
    if (objectLike && !pronounSubject && (!subject || verb === 'according to' || /^(?:says|said|writes|wrote|adds|added|asks|asked)$/.test(verb))) {
      return { speaker: objectLike.speaker, method: 'verb-name', confidence: 0.85 };
    }
    // "One engineer at a large lab, who asked not to be named, said the teams “…”": a speech verb whose subject
    // names nobody we know is someone unnamed speaking, not the page's declared speaker.
    // (Inside someone's words, "the model says, “…”" is their hypothetical: see the quotes-inside-a-quote rules.)
    if (!parent && !subject && !objectLike && verb !== 'according to' && namesBefore.length === 0 && q.start - verbAt < 80) {
      const lead = text.slice(beforeStart, verbAt).replace(/^[\s>*_”"’]+/, '');
      const pronounLead = /^(?:he|she|they|I|we|you|it)\b/i.test(lead) || /\b(?:they|They|I|we|We|you|You|it|It)\s+(?:\w+\s+){0,2}$/.test(lead);
      // Only a lead that marks the person as unnamed: "the guest said" on an interview page is its declared guest.
      const marksUnnamed = /^(?:one|a|an|another|some|several|two|three)\s/i.test(lead) || /\b(?:not to be named|declined to be named|anonymity|anonymous|unnamed)\b/i.test(lead);
      if (marksUnnamed && !pronounSubject && !pronounLead) {
        return { speaker: null, method: 'verb-name', confidence: 0.8 };
      }
    }
  }
  // "On the eval passage, the author is scornful: “…”", "The critique's author … draws the conclusion Sutskever
  // does not:": a sentence whose subject is a role, not a name, introduces someone unnamed, whoever else it
  // mentions later and whatever the page declares.
  if (!parent && /:\s*[“"‘]?\s*$/.test(before) && introducedByRole(ctx, beforeStart, q.start)) return { speaker: null, method: 'verb-name', confidence: 0.8 };
  // "Rafael Oduya, Tessellate's chief scientist, went further in his interview with Hollis Grant: “…”": a
  // sentence that opens with a name and ends in a colon introduces that person's words.
  const opener = namesBefore[0];
  if (opener && q.words >= 8 && /:\s*[“"‘]?\s*$/.test(before) && /^[\s>*_“"‘]*(?:[\p{Lu}][\p{L}’'-]*\s+){0,1}$/u.test(text.slice(beforeStart, opener.start))) {
    return { speaker: opener.speaker, method: 'verb-name', confidence: 0.75 };
  }
  const lastName = namesBefore[namesBefore.length - 1];
  if (lastName) {
    const between = text.slice(lastName.end, q.start);
    // ("…belongs to Lorcan Pettigrew of Halyard Ventures: “…”": a name and where they are from, then the colon.)
    if (/^\s*(?:\([^)]*\)|\s(?:of|at|from)\s+(?:the\s+)?[\p{Lu}][\p{L}’'&.-]*(?:\s+[\p{Lu}][\p{L}’'&.-]*){0,3})?\s*:\s*$/u.test(between.replace(/[“"‘>]/g, ''))) {
      return { speaker: lastName.speaker, method: 'verb-name', confidence: 0.85 };
    }
    // "@tkwiat “RL on verifiable tasks scaled beautifully” is doing a lot of work": a reply quoting the handle.
    if ((text[lastName.start] === '@' || text[lastName.start - 1] === '@') && /^\s*$/.test(between.replace(/[“"‘]/g, ''))) {
      return { speaker: lastName.speaker, method: 'verb-name', confidence: 0.75 };
    }
    // "Sutskever, verbatim:", "Marcus, in reply:": a name and a few words, then the colon.
    if (/^\s*,\s*(?:[\p{Ll}’'-]+\s*){1,3}:\s*$/u.test(between.replace(/[“"‘]/g, ''))) {
      return { speaker: lastName.speaker, method: 'verb-name', confidence: 0.8 };
    }
    // "Marcus’s reply: “…”", "in Sutskever’s words, “…”": a possessive on a word for what someone said.
    if (/^[’']s\s+(?:\w+\s+){0,2}(?:words?|line|lines|phrase|quote|answer|reply|response|verdict|view|argument|claim|point|retort|rebuttal|remark|comment|summary|conclusion|question)\b(?:\s+that)?[\s,:]*$/i.test(between.replace(/[“"‘]/g, ''))) {
      return { speaker: lastName.speaker, method: 'verb-name', confidence: 0.75 };
    }
  }
  const firstAfter = namesAfter[0];
  // (“…would imply.” Sutskever agreed: “…”: a name followed by a colon and a quote introduces the next quote.)
  if (firstAfter && !/^\s+(?:[\p{L}’'-]+\s+){0,2}?[\p{L}’'-]+\s*:\s*[“"‘]/u.test(text.slice(firstAfter.end, firstAfter.end + 60))) {
    const between = text.slice(q.end, firstAfter.start);
    if (new RegExp(`^[”"’',\\s]*(?:${VERB})?\\s*$`).test(between) || new RegExp(`^[”"’',\\s]*(?:${VERB})\\b`).test(between)) {
      return { speaker: firstAfter.speaker, method: 'verb-name', confidence: 0.85 };
    }
  }

  // A second quote in the same paragraph, with no one else named in between, continues the previous speaker
  // ("…,” said Altman. “We will keep scaling.”).
  const prevQuote = previousQuote(ctx, qi);
  if (prevQuote && (prevQuote.attr.speaker || unnamed(prevQuote.attr))) {
    const gap = text.slice(prevQuote.quote.end, q.start);
    // ("“…,” said Henrike Solvang, who … sat next to Brandvold on a panel. “…”": names in the clause that
    // attributes the previous quote, after its speaker's name, describe that speaker; they are not a new voice.)
    const speakerAt = ctx.mentions.find((m) => m.start >= prevQuote.quote.end && m.end <= q.start && m.speaker === prevQuote.attr.speaker);
    const clauseEnd = speakerAt ? prevQuote.quote.end + (/[.!?]\s/.exec(gap)?.index ?? gap.length) : -1;
    const named = ctx.mentions.some((m) => m.start >= prevQuote.quote.end && m.end <= q.start && m.speaker !== prevQuote.attr.speaker && !(speakerAt && m.start > speakerAt.end && m.end <= clauseEnd && /^[”"’]?,?\s*(?:said|says|added|adds|wrote|writes)\s/.test(text.slice(prevQuote.quote.end, speakerAt.start).trim() + ' ') && /^\s*,\s*(?:who|whose|a|an|the|one of)\b/.test(text.slice(speakerAt.end, speakerAt.end + 20))));
    if (!gap.includes('\n') && !named && gap.length < 200) return { speaker: prevQuote.attr.speaker, method: prevQuote.attr.method === 'label' ? 'verb-name' : prevQuote.attr.method, confidence: 0.75 };
  }

  // 4. verb + pronoun: "he says", "In his words", "he dryly calls" → the last speaker named before.
  const turnSpeaker = parent && parent.form === 'turn' ? parentAttr?.speaker ?? null : null;
  const pronounVerb = new RegExp(`\\b${PRONOUN}\\b(?:\\s+\\w+){0,3}?\\s+${VERB}\\b|\\b(?:[Ii]n (?:his|her) (?:own )?words)|\\b(?:his|her) (?:verdict|words|line|phrase|claim|point|reply|response|answer|retort)\\b`);
  const pronounAfter = new RegExp(`^[”"’',\\s]*(?:${PRONOUN}|he|she)\\s+(?:${VERB})\\b`);
  // "She added that the plot was honest as far as it went. “It just measures…”": an action beat whose subject
  // is a pronoun is the pronoun's person too.
  const leadIn = parent ? '' : text.slice(lineStart, q.start);
  const pronounBeat = /(?:^|[.!?]["”’]?\s+)(?:He|She)\s+\p{Ll}[^.!?“”"]*[.!?]\s*[“"‘]?$/u.test(leadIn);
  if (pronounVerb.test(before) || pronounAfter.test(after) || pronounBeat) {
    // "He added: “…”" right after someone's quote is that someone, even if another name came in between.
    // ...but a new paragraph that names someone before its quote ("Renn was unconvinced. “…,” he said.") has
    // moved on to that person.
    // "…shifting spending to RL, where, in Sutskever's words, “…”": a quotation set into someone else's
    // sentence as an aside is not who the next "he added" is.
    // ...nor is a phrase quoted in an earlier paragraph ("…back in “the age of research,” her phone started
    // ringing."): a "she said" in the next paragraph is about its subject, not the phrase's author.
    // (A short reply with its own tag, "“Not at all,” Marcus replied.", is still the last voice.)
    const tagged = (r: { quote: RawQuote }) => new RegExp(`^[”"’]?[,.!?]?[”"’]?\\s*(?:[\\p{Lu}][\\p{L}’'-]+|he|she)\\s+(?:${VERB})\\b`, 'u').test(text.slice(r.quote.end, r.quote.end + 40));
    const passOver = (r: { quote: RawQuote }) => ASIDE.test(text.slice(Math.max(0, r.quote.start - 60), r.quote.start)) || (r.quote.words < 8 && r.quote.start < lineStart && !tagged(r));
    let recent = previousQuote(ctx, qi);
    // (Every use of the last quote needs it within 400 characters: the walk stops there, or it grows with the
    // square of the quotes for every quote.)
    while (recent && q.start - recent.quote.end < 400 && passOver(recent)) recent = previousQuote(ctx, ctx.quotes.indexOf(recent.quote));
    if (recent && q.start - recent.quote.end >= 400) recent = null;
    // Someone named since the previous quote, outside that quote's own sentence, is who the text moved on to.
    // (The name in such an aside is not someone the text moved on to either.)
    // "(Dwarkesh Podcast; the phrase as the DeepSeek dialogue reports it.)": a source cited in parentheses is not
    // who the paragraph is about.
    // (Looked for within the mention's own line: a scan back to the text's start, for every mention, made long
    // items quadratic.)
    const inParentheses = (m: Mention) => {
      const before = text.slice(text.lastIndexOf('\n', m.start) + 1, m.start);
      return before.lastIndexOf('(') > before.lastIndexOf(')');
    };
    const inAside = (m: Mention) => /[\p{Ll},;]\s+in\s+$/u.test(text.slice(Math.max(0, m.start - 20), m.start)) && /^['’]s\s+(?:own\s+)?words[\s,:]*[“"‘]/.test(text.slice(m.end, m.end + 20));
    const movedOn = recent !== null && ctx.mentions.some((m) => m.start >= Math.max(recent.quote.end, text.lastIndexOf('\n', recent.quote.end) + 1) && m.end <= q.start && m.speaker !== UNKNOWN_PERSON && m.speaker !== recent.attr.speaker && !inAside(m) && !inParentheses(m) && (recent.quote.end <= lineStart || /[.!?]/.test(text.slice(tagged(recent) ? recent.quote.end : recent.quote.end - 1, m.start).replace(/^[”"’,]*/, ''))));
    const recentSpeaker =
      recent && recent.attr.speaker && !movedOn && q.start - recent.quote.end < 400 && recent.attr.speaker !== turnSpeaker ? recent.attr.speaker : null;
    // The person named before the pronoun in its own sentence ("Later Sutskever joined in, and he said"); in
    // "He told Dwarkesh Patel, “…”" the name after it is the listener.
    const pm = new RegExp(`\\b${PRONOUN}\\b`).exec(before);
    const pronounAt = pm ? beforeStart + pm.index : q.start;
    const inSentence = ctx.mentions.filter((m) => m.start >= beforeStart && m.end <= pronounAt && m.speaker !== turnSpeaker);
    const sentenceWho = inSentence.length > 0 ? inSentence[inSentence.length - 1]!.speaker : null;
    // Else the person the paragraph is about: the first one it names ("Lindqvist, asked afterwards about
    // Valderrama's talk, said … “…,” she said."), or the paragraph before it when this one names nobody.
    // In a transcript the paragraph is the turn (turns are often not set apart by blank lines): "He said, “…”"
    // in an answer is the person the question before it named.
    const sep = parent && parent.form === 'turn' ? '\n' : '\n\n';
    const topic = (): string | null => {
      for (let end = q.start, hops = 0; hops < 2 && end > 0; hops++) {
        const blank = text.lastIndexOf(sep, end - 1);
        const from = blank === -1 ? 0 : blank + sep.length;
        const first = ctx.mentions.find((m) => m.start >= from && m.end <= end && m.speaker !== turnSpeaker && !inAside(m) && !inParentheses(m));
        if (first) return first.speaker;
        end = blank === -1 ? 0 : blank;
      }
      return null;
    };
    // "“It is not cheating,” she said." after an unnamed engineer's words: still her, still unnamed.
    if (!sentenceWho && recent && unnamed(recent.attr) && !movedOn && q.start - recent.quote.end < 400) {
      return { speaker: null, method: 'verb-pronoun', confidence: 0.7 };
    }
    const who = sentenceWho ?? recentSpeaker ?? topic() ?? lastNamedBefore(ctx, pronounAt, turnSpeaker, 0, (m) => !inParentheses(m));
    if (who && who !== UNKNOWN_PERSON) return { speaker: who, method: 'verb-pronoun', confidence: 0.7 };
  }

  // 4b. context: a quote that opens a sentence with no attribution of its own, in a paragraph that has named
  // one person before it ("Renn's response was short. “Show me…”", "Quill shrugged. “Nobody is slowing
  // down.”"), is that person's: the news convention of an action beat before the quote. Two people named,
  // or someone we do not know, and it stays unattributed.
  if (!parent && !before.includes('\n')) {
    const lead = text.slice(lineStart, q.start);
    const opensSentence = /(?:^|[.!?:]["”’]?)\s*[“"‘]?$/.test(lead) && lead.trim().length > 0;
    // "I asked Tarrant whether she accepted any of it. “She is right that…”": the one asked answers.
    const asked = opensSentence ? /(?:^|[.!?]["”’]?\s+)(?:I|We)\s+(?:asked|pressed|put (?:it|the question) to)\s+$/ : null;
    if (asked) {
      // (Only the words just before a name are tested, and only names in the sentence right before the quote.)
      const lastSentence = Math.max(lineStart, q.start - 400);
      const m = ctx.mentions.find((x) => x.start >= lastSentence && x.end <= q.start && x.speaker !== UNKNOWN_PERSON && asked.test(text.slice(Math.max(lineStart, x.start - 40), x.start)) && !/[.!?]["”’]?\s/.test(text.slice(x.end, q.start).replace(/[.!?]["”’]?\s*[“"‘]?\s*$/, '')));
      // (Two people asked, "We asked Sam Altman and Gary Marcus the same question.", is nobody surely.)
      const second = m && ctx.mentions.find((x) => x.start > m.end && x.end <= q.start && /^\s*(?:,|and|&)\s*$/.test(text.slice(m.end, x.start)));
      if (m && !second) return { speaker: m.speaker, method: 'context', confidence: 0.65 };
    }
    if (opensSentence && !/\?\s*[“"‘]?$/.test(lead)) {
      // (Within the last 600 characters, as the block-quote rule: a whole long paragraph per quote was cubic.)
      const who = soleSubject(ctx, Math.max(lineStart, q.start - 600), q.start);
      if (who) return { speaker: who, method: 'context', confidence: 0.65 };
    }
  }
  // A block quote (or a quotation standing as its own paragraph) right after a paragraph that names one
  // person ("At the meetup, Mara Quill laid out the scaling camp's case.") is that person's words.
  if (!parent && q.words >= 8 && /^[\s>“"‘]*$/.test(text.slice(lineStart, q.start))) {
    const prevEnd = text.slice(0, lineStart).trimEnd().length;
    const blank = text.lastIndexOf('\n\n', prevEnd - 1);
    const prevStart = Math.max(blank === -1 ? 0 : blank + 2, prevEnd - 600);
    const prev = text.slice(prevStart, prevEnd);
    if (prevEnd > 0 && /[.:]$/.test(prev) && !/^\s*>/.test(prev)) {
      // ("The critique's author … draws the conclusion Sutskever does not:" introduces the author, unnamed.)
      if (prev.endsWith(':')) {
        const sents = splitSentences(text, prevStart, prevEnd);
        const last = sents[sents.length - 1];
        if (last && introducedByRole(ctx, last.start, prevEnd)) return { speaker: null, method: 'verb-name', confidence: 0.8 };
        // ("Marcus wrote a long reply. The line he goes after is Sutskever's:" introduces someone the colon
        // sentence names without making them its subject: not the earlier subject's words, and not surely theirs.)
        const inColonSentence = last ? ctx.mentions.filter((m) => m.start >= last.start && m.end <= prevEnd) : [];
        if (inColonSentence.length > 0 && !inColonSentence.some((m) => isSubject(text, last!.start, m))) return { speaker: null, method: 'none', confidence: 0 };
      }
      const who = soleSubject(ctx, prevStart, prevEnd);
      if (who) return { speaker: who, method: 'context', confidence: 0.62 };
    }
  }

  // Quotes inside a quote: a hypothetical voice ("then you tell the model, ‘…’") is the outer speaker's.
  if (parent && parent.form !== 'turn' && parentAttr) {
    return { speaker: parentAttr.speaker, method: parentAttr.method, confidence: parentAttr.confidence };
  }
  if (parent && parent.form === 'turn' && parentAttr) {
    // Inside someone's turn, a quote is their own voice when it reads like a hypothetical ("you tell it, “…”"),
    // and in a primary transcript whenever nothing names someone else: people in conversation voice
    // hypotheticals ("Is the belief really, “Oh, it’s so big…”") far more often than they quote.
    if (HYPOTHETICAL.test(before.replace(/[“"‘]/g, ''))) return { ...parentAttr };
    // ...but "Dwarkesh Patel opened with the line “…”" names whose words they are.
    const other = namesBefore.filter((m) => m.speaker !== turnSpeaker);
    // (Slogans in a sentence about someone, "Sutskever was the high priest of “scaling is all you need”", are short.)
    if (other.length > 0 && q.words >= 8) return { speaker: other[other.length - 1]!.speaker, method: 'verb-name', confidence: 0.7 };
    // "“The top-down belief is…” is a lovely sentence": words held up to be judged are not the speaker's nor
    // anyone's in the conversation (they would be "you"), but those of the last outsider it named.
    if (QUOTE_JUDGED.test(after) && q.words >= 8) {
      const inConversation = new Set<string>();
      ctx.quotes.forEach((o, i) => {
        const sp = o.form === 'turn' ? ctx.done.get(i)?.speaker : null;
        if (sp) inConversation.add(sp);
      });
      // (Named in this turn or the two before it: someone mentioned at the start of the show is not who is meant.)
      let from = q.start;
      for (let k = 0; k < 3 && from > 0; ) {
        from = text.lastIndexOf('\n', from - 2) + 1;
        if (text.slice(from, text.indexOf('\n', from) === -1 ? text.length : text.indexOf('\n', from)).trim() !== '') k++;
      }
      const outsider = [...ctx.mentions].reverse().find((m) => m.start >= from && m.end <= q.start && m.speaker !== UNKNOWN_PERSON && !inConversation.has(m.speaker));
      if (outsider) return { speaker: outsider.speaker, method: 'context', confidence: 0.62 };
    }
    if (ctx.item.primary && parentAttr.speaker) return { ...parentAttr, confidence: Math.min(parentAttr.confidence, 0.8) };
    // Otherwise the turn's speaker is quoting someone: the person they last named in this turn, weakly.
    // ...unless it sits in the sentence as a noun phrase ("the high priest of “scaling is all you need”"): a
    // slogan or scare quote, not reported words.
    const inline = /\b(?:of|the|a|an|with|merely|like|about|from|as|called|into|for|by)\s*$/i.test(before.replace(/[“"‘]\s*$/, ''));
    const who = lastNamedBefore(ctx, q.start, turnSpeaker);
    if (who && q.kind !== 'fragment' && !inline) return { speaker: who, method: 'verb-pronoun', confidence: 0.62 };
    return { speaker: null, method: 'none', confidence: 0 };
  }

  // 5. declared: the item's own speaker (front matter or feed config), else the one its title names. Not
  // when that speaker is the page's own author and this is a quotation on it: a reply post quotes the people
  // it answers, so the words are the last person it named (weakly), or nobody's we know.
  const d = declared(ctx);
  const author = ctx.item.author ? index.resolve(ctx.item.author) : null;
  if (d && author !== null && d.speaker === author && !ctx.item.primary && q.form !== 'turn') {
    const who = lastNamedBefore(ctx, q.start, author);
    return who ? { speaker: who, method: 'verb-pronoun', confidence: 0.62 } : { speaker: null, method: 'none', confidence: 0 };
  }
  return d ?? { speaker: null, method: 'none', confidence: 0 };
}
