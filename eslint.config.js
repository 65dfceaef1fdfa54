// Lint rules that guard what type-checking cannot: promises nobody awaits, and workflow code
// reaching for I/O (it must stay deterministic; everything with I/O lives in activities).
import tseslint from 'typescript-eslint';

// One project service serves every file, so every block passes it the same options. The console's
// Vite config is in no tsconfig: it is checked with the default project.
const parserOptions = { projectService: { allowDefaultProject: ['console/vite.config.ts'] }, tsconfigRootDir: import.meta.dirname };

// The folder rule (README, Layout): entry points live in their layer (src/api, src/activities,
// src/workflows, src/worker; SQL in src/db), and a domain folder holds its domain's logic and
// never imports a layer that calls it. test/unit/dependency-direction.test.ts holds the same lists.
const DOMAINS = ['build', 'mail', 'bounces', 'review', 'schedule', 'unsubscribe', 'followups', 's3', 'crypto', 'net', 'contract'];
const CALLERS = ['api', 'activities', 'workflows', 'worker'];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'dist/', 'console/dist/'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // The console: React in the browser, type-checked by console/tsconfig.json (whose DOM lib
    // declares the browser's globals; no-undef stays off, as TypeScript already reports unknown names).
    files: ['console/src/**/*.ts', 'console/src/**/*.tsx'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { ...parserOptions, ecmaFeatures: { jsx: true } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The workflow tier runs on Temporal's time-skipping test server, which takes a lock for each
    // workflow task it schedules and gives it back when the task completes. Terminating a workflow
    // whose task is still outstanding never gives it back: every later timer and retry in the file
    // then runs on the wall clock (a one-hour wait took an hour, and CI gave up).
    files: ['test/workflows/**/*.ts', 'test/helpers/workflow-env.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='terminate']",
          message: 'no terminate in the workflow tier: it can leave the test server time-skipping locked; let the workflow end, or leave it waiting',
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'os', 'net', 'http', 'https', 'child_process'], message: 'workflow code must not do I/O: use an activity' },
            { group: ['postgres', 'nodemailer', 'nodemailer/*', 'imapflow', '@aws-sdk/*', 'pino', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'workflow code must not do I/O: use an activity' },
            { group: [...['db', 'api', 'worker', 'dev', ...DOMAINS.filter((d) => d !== 'contract')].map((f) => `../${f}/*`), '../logger.js', '../metrics.js', '../config.js', '../temporal.js'], message: 'workflow code must not do I/O: use an activity', allowTypeImports: true },
            { group: ['../activities/*', '../activities'], message: 'import activity types only (import type), and call them through proxyActivities', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: DOMAINS.map((d) => `src/${d}/**/*.ts`),
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: CALLERS.flatMap((f) => [`../${f}`, `../${f}/*`]), message: 'a domain folder never imports a layer that calls it: move the entry point into its layer, or pass what it needs in' }] },
      ],
    },
  },
);
