/**
 * The benchmark's load test, small: every accepted subscribe leaves exactly one row, one token and one email;
 * every accepted one-click leaves the row unsubscribed, once. Figures are printed, never asserted.
 */
import { describe, expect, it } from 'vitest';
import { loadTest } from '../../src/serve/load.js';

describe('loadTest', () => {
  it('loses and duplicates nothing under concurrent subscribe and one-click unsubscribe', async () => {
    const r = await loadTest({ requests: 300, connections: 8, maxSeconds: 60 });
    console.log(`serve load (300 requests, 8 connections): ${JSON.stringify(r)}`);
    expect(r.subscribe.requests).toBe(300);
    expect(r.subscribe.errors).toBe(0);
    expect(r.unsubscribe.requests).toBe(300);
    expect(r.unsubscribe.errors).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.subscribe.rps).toBeGreaterThan(0);
    expect(r.unsubscribe.p99ms).toBeGreaterThan(0);
  }, 180_000);
});
