import { describe, expect, it } from 'vitest';
import { evaluate, interpolate, type Contexts } from '../../scripts/rehearse/expressions.js';

const ctx = (inputs: Record<string, unknown>, status: Contexts['status'] = 'success'): Contexts => ({
  inputs, secrets: { SMTP_URL: 'smtp://x' }, vars: {}, github: { ref_name: 'main' }, runner: { temp: '/t' },
  steps: { pages: { outputs: { base_url: 'https://u.github.io/r' } } }, needs: { make: { outputs: { sha: 'abc' }, result: 'success' } }, status,
});

describe('workflow expressions (rehearse)', () => {
  it.each([
    ["!inputs.dry_run && inputs.send != 'none'", {}, true], // a schedule event: no inputs
    ["!inputs.dry_run && inputs.send != 'none'", { dry_run: true, send: 'all' }, false],
    ["!inputs.dry_run && inputs.send != 'none'", { dry_run: false, send: 'none' }, false],
    ["!inputs.dry_run && inputs.send != 'none'", { dry_run: false, send: 'test' }, true],
    ["inputs.send || 'all'", {}, 'all'],
    ["inputs.send || 'all'", { send: 'test' }, 'test'],
    ["inputs.send == 'ALL'", { send: 'all' }, true],
    ['always()', {}, true],
    ['success()', {}, true],
    ['(inputs.a && inputs.b) || 3', { a: 'x', b: '' }, 3],
  ])('%s with %j is %j', (expr, inputs, want) => {
    expect(evaluate(`\${{ ${expr} }}`, ctx(inputs))).toBe(want);
  });

  it('interpolates context paths, missing ones as empty', () => {
    expect(interpolate('${{ steps.pages.outputs.base_url }}/x ${{ needs.make.outputs.sha }} [${{ inputs.issue }}] ${{ runner.temp }}', ctx({}))).toBe(
      'https://u.github.io/r/x abc [] /t',
    );
  });

  it('refuses what it does not understand instead of guessing', () => {
    expect(() => evaluate("${{ fromJSON('x') }}", ctx({}))).toThrow(/unknown function fromJSON/);
    expect(() => evaluate('${{ inputs.a inputs.b }}', ctx({}))).toThrow(/unexpected/);
  });
});
