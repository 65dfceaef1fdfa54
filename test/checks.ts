// The type check and the lint in one process, on one TypeScript program per tsconfig.
//
// `tsc --noEmit` and typed ESLint (no-floating-promises needs types) each built the same program:
// with empty caches that was about 25 s of tsc and 35 s of ESLint on this 2-core machine, most
// of ESLint's being its own copy of tsc's work. Here the programs are built once (incrementally,
// from the build info in node_modules/.cache), their diagnostics printed as tsc prints them, and
// then handed to ESLint as `parserOptions.programs`.
//
//   tsx test/checks.ts types          the server's code (src, test, bench)
//   tsx test/checks.ts types console  and the console's
//   tsx test/checks.ts lint           the server's and the console's programs, then ESLint
//   tsx test/checks.ts lint-server    ESLint on the server's files only (src, test, bench)
//   tsx test/checks.ts types lint     both, in that order; the first that fails stops the other
//
// Exit 1 when a diagnostic or a lint error is found; each part prints its own time.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules/.cache/test-fast');

/** The console's Vite config is in no tsconfig; ESLint's default project checks it (eslint.config.js). */
const OUTSIDE_ANY_TSCONFIG = ['console/vite.config.ts'];

interface Built {
  program: ts.Program;
  diagnostics: readonly ts.Diagnostic[];
}

/** The program of `project` (a folder with a tsconfig.json), and its diagnostics, as `tsc --noEmit --incremental` finds them. */
function build(project: string, buildInfo: string): Built {
  const configPath = join(root, project, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { incremental: true, tsBuildInfoFile: join(cacheDir, buildInfo) }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const builder = ts.createIncrementalProgram({ rootNames: parsed.fileNames, options: parsed.options, configFileParsingDiagnostics: parsed.errors });
  const diagnostics = [
    ...builder.getConfigFileParsingDiagnostics(),
    ...builder.getOptionsDiagnostics(),
    ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(),
    ...builder.getSemanticDiagnostics(),
  ];
  mkdirSync(cacheDir, { recursive: true });
  builder.emit(); // noEmit: writes the build info only
  return { program: builder.getProgram(), diagnostics };
}

/** A program for the files no tsconfig includes, with the defaults ESLint's project service gives them. */
function outsideProgram(): ts.Program {
  return ts.createProgram(OUTSIDE_ANY_TSCONFIG.map((f) => join(root, f)), { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true, noEmit: true });
}

const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };

function report(name: string, built: Built, started: number): boolean {
  const errors = built.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (built.diagnostics.length) process.stdout.write((process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(built.diagnostics, host));
  console.log(`${name}: ${errors.length === 0 ? 'no errors' : `${errors.length} error(s)`} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return errors.length === 0;
}

/** What `lint` and `lint-server` give ESLint: every file, or the server's folders. */
const LINTED = { lint: ['.'], 'lint-server': ['src', 'test', 'bench'] };

async function lint(programs: ts.Program[], patterns: string[]): Promise<boolean> {
  const started = Date.now();
  const eslint = new ESLint({
    cwd: root,
    cache: true,
    cacheLocation: join(cacheDir, 'eslint'),
    // The programs replace the project service: the same types, built once.
    overrideConfig: { files: ['**/*.ts', '**/*.tsx'], languageOptions: { parserOptions: { projectService: false, programs } } },
  });
  const results = await eslint.lintFiles(patterns);
  const formatter = await eslint.loadFormatter('stylish');
  const text = await formatter.format(results);
  if (text) process.stdout.write(text);
  const errors = results.reduce((n, r) => n + r.errorCount + r.fatalErrorCount, 0);
  console.log(`lint: ${errors === 0 ? 'no errors' : `${errors} error(s)`} in ${results.length} files (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return errors === 0;
}

/**
 * The programs as the parser wants them (an array), built only when a file is parsed: with a warm
 * ESLint cache no file is, and the console's program (React's and the DOM's types) is never built.
 * ESLint hashes its config for the cache key; the hash sees a name, not the programs' nodes.
 */
function lazyPrograms(make: (() => ts.Program)[]): ts.Program[] {
  const built: (ts.Program | undefined)[] = [];
  class LazyPrograms extends Array<ts.Program> {
    override *[Symbol.iterator](): ArrayIterator<ts.Program> {
      for (const [i, f] of make.entries()) yield (built[i] ??= f());
    }
    toJSON() {
      return 'programs of the tsconfigs';
    }
  }
  const programs = new LazyPrograms();
  programs.length = make.length; // the parser refuses an empty array; it only ever iterates
  return programs;
}

async function main(args: string[]): Promise<number> {
  const wanted = new Set(args);
  const unknown = args.filter((a) => !['types', 'console', 'lint', 'lint-server'].includes(a));
  if (unknown.length || wanted.size === 0) {
    console.error(`usage: tsx test/checks.ts [types] [console] [lint | lint-server]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
    return 2;
  }
  let t = Date.now();
  const server = build('.', 'tsc.tsbuildinfo');
  if (wanted.has('types') && !report('type check', server, t)) return 1;
  t = Date.now();
  let consoleProgram: ts.Program | undefined;
  if (wanted.has('console')) {
    const built = build('console', 'tsc-console.tsbuildinfo');
    if (!report('console type check', built, t)) return 1;
    consoleProgram = built.program;
  }
  const programs = [() => server.program, () => (consoleProgram ??= build('console', 'tsc-console.tsbuildinfo').program), () => outsideProgram()];
  for (const which of ['lint', 'lint-server'] as const) {
    if (wanted.has(which) && !(await lint(lazyPrograms(programs), LINTED[which]))) return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
