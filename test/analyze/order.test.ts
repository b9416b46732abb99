import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/index.js';
import { cfg, makeItem, seedItems, speakers, themes } from './fixtures.js';

// Gather lists items in whatever order the feeds finished; the issue must not depend on it.
describe('input order', () => {
  it('the same items in another order give the same quotes, counterpoints and token count', () => {
    const extra = [
      makeItem('Gary Marcus was quick to respond. “Scaling has hit a wall, and the scaling era is over for good,” Marcus wrote.', { sourceId: 'a' }),
      makeItem('Asked about a plateau, Sam Altman said: “We will keep scaling, and the scaling laws still hold.”', { sourceId: 'b' }),
      // Two items sharing an id (two dropped files naming one canonical URL) still keep their own quotes.
      makeItem('“The age of scaling is over and we are back to the age of research,” Sutskever said.', { id: 'same', sourceId: 'c' }),
      makeItem('“Scaling still works and the recipe works, whatever anyone says,” Altman said.', { id: 'same', sourceId: 'd' }),
    ];
    const items = [...seedItems(), ...extra];
    const forward = analyze(items, { themes, speakers, analyze: cfg });
    const backward = analyze([...items].reverse(), { themes, speakers, analyze: cfg });
    const shuffled = analyze([items[3]!, items[7]!, items[0]!, items[5]!, items[8]!, items[1]!, items[6]!, items[2]!, items[4]!], { themes, speakers, analyze: cfg });
    expect(forward.quotes.length).toBeGreaterThan(50);
    expect(backward).toEqual(forward);
    expect(shuffled).toEqual(forward);
  });
});
