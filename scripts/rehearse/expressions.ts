/**
 * The part of GitHub Actions' expression language our workflow uses (`${{ … }}`): context paths, string,
 * number and boolean literals, `!`, `&&`, `||`, `==`, `!=`, parentheses, and the status functions always(),
 * success(), failure(), cancelled(). Semantics follow GitHub: `||` and `&&` return an operand, not a
 * boolean; a missing property is null; string comparison ignores case.
 */
export interface Contexts {
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  vars: Record<string, string>;
  github: Record<string, string>;
  runner: { temp: string };
  steps: Record<string, { outputs: Record<string, string> }>;
  needs: Record<string, { outputs: Record<string, string>; result: string }>;
  /** Job status so far, for success() and failure(). */
  status: 'success' | 'failure';
}

type Value = string | number | boolean | null | Record<string, unknown>;

const TOKEN = /\s*(?:(\(|\)|!=|==|&&|\|\||!|,)|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|([A-Za-z_][\w-]*(?:\.[\w-]+|\[\s*'[^']*'\s*\])*)(\s*\()?)/y;

function tokenize(src: string): { kind: 'op' | 'str' | 'num' | 'path' | 'call'; text: string }[] {
  const tokens: { kind: 'op' | 'str' | 'num' | 'path' | 'call'; text: string }[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < src.length) {
    if (/^\s*$/.test(src.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(src);
    if (!m) throw new Error(`cannot read expression at "${src.slice(at)}"`);
    at = TOKEN.lastIndex;
    if (m[1]) tokens.push({ kind: 'op', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'str', text: m[2].replace(/''/g, "'") });
    else if (m[3]) tokens.push({ kind: 'num', text: m[3] });
    else if (m[4]) tokens.push({ kind: m[5] ? 'call' : 'path', text: m[4] });
  }
  return tokens;
}

const truthy = (v: Value): boolean => !(v === null || v === false || v === 0 || v === '');
const loose = (v: Value): string => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)).toLowerCase();

export function evaluate(expression: string, c: Contexts): Value {
  const src = expression.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const t = tokenize(src);
  let i = 0;
  const peek = () => t[i];
  const take = (text?: string) => {
    const tok = t[i++];
    if (!tok || (text && tok.text !== text)) throw new Error(`expected ${text ?? 'a value'} in "${src}"`);
    return tok;
  };
  const lookup = (p: string): Value => {
    const parts = p.split(/\.|\[\s*'([^']*)'\s*\]/).filter((x) => x !== undefined && x !== '');
    let v: unknown = c as unknown;
    for (const part of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    return (v === undefined ? null : v) as Value;
  };
  const primary = (): Value => {
    const tok = take();
    if (tok.kind === 'op' && tok.text === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (tok.kind === 'op' && tok.text === '!') return !truthy(primary());
    if (tok.kind === 'str') return tok.text;
    if (tok.kind === 'num') return Number(tok.text);
    if (tok.kind === 'call') {
      if (!['always', 'success', 'failure', 'cancelled'].includes(tok.text)) throw new Error(`unknown function ${tok.text}()`);
      take(')');
      switch (tok.text) {
        case 'always': return true;
        case 'success': return c.status === 'success';
        case 'failure': return c.status === 'failure';
        case 'cancelled': return false;
        default: throw new Error(`unknown function ${tok.text}()`);
      }
    }
    if (tok.kind === 'path') {
      if (tok.text === 'true') return true;
      if (tok.text === 'false') return false;
      if (tok.text === 'null') return null;
      return lookup(tok.text);
    }
    throw new Error(`unexpected "${tok.text}" in "${src}"`);
  };
  const cmp = (): Value => {
    const left = primary();
    const op = peek();
    if (op?.kind === 'op' && (op.text === '==' || op.text === '!=')) {
      i++;
      const equal = loose(left) === loose(primary());
      return op.text === '==' ? equal : !equal;
    }
    return left;
  };
  const and = (): Value => {
    let v = cmp();
    while (peek()?.text === '&&') {
      i++;
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek()?.text === '||') {
      i++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  if (i !== t.length) throw new Error(`unexpected "${t[i]?.text}" in "${src}"`);
  return v;
}

/** Replace every `${{ … }}` in a string with its value ('' for null). */
export function interpolate(text: string, c: Contexts): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => {
    const v = evaluate(e, c);
    return v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}
