import { describe, expect, it } from 'vitest';
import { splitParagraphs, splitSentences, tokenize, trimSpan } from '../../src/analyze/paragraphs.js';

describe('paragraphs and sentences keep offsets into the original text', () => {
  const text = '  First para, line one.\nline two!\n\n\nSecond “para”. Dr. Who said e.g. this… and more.\n\nThird? Yes.  ';
  it.each([
    ['blank-line paragraphs', splitParagraphs(text).map((s) => text.slice(s.start, s.end)), ['First para, line one.\nline two!', 'Second “para”. Dr. Who said e.g. this… and more.', 'Third? Yes.']],
    ['line paragraphs', splitParagraphs('a\nb\n\nc', true).map((s) => 'a\nb\n\nc'.slice(s.start, s.end)), ['a', 'b', 'c']],
  ])('%s', (_name, got, want) => expect(got).toEqual(want));

  it('splits sentences on end punctuation and newlines but not abbreviations or a lower-case continuation', () => {
    const got = splitSentences(text).map((s) => text.slice(s.start, s.end));
    expect(got).toEqual(['First para, line one.', 'line two!', 'Second “para”.', 'Dr. Who said e.g. this… and more.', 'Third?', 'Yes.']);
  });

  it('never changes characters: every span is a slice', () => {
    for (const s of [...splitParagraphs(text), ...splitSentences(text)]) {
      expect(text.slice(s.start, s.end)).toBe(text.slice(s.start, s.end).trim());
      expect(s.start).toBeLessThanOrEqual(s.end);
    }
    expect(trimSpan('  ab  ', 0, 6)).toEqual({ start: 2, end: 4 });
  });

  it('tokenizes with inner apostrophes and hyphens, normalized', () => {
    expect(tokenize('Don’t 100× a 15-year-old.').map((t) => t.norm)).toEqual(["don't", '100x', 'a', '15-year-old']);
  });
});
