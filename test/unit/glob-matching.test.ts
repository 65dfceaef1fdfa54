import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGlob, globBase } from '../../src/build/glob.js';
import { globSyntaxProblem } from '../../src/contract/key-patterns.js';

// Issue 23.2: attachment patterns are tenant text matched against every key of a folder. A
// backtracking matcher took 19.5 s for `pre/*?*?*?*?*?*?*?*?Z` against one 60-character key and
// stopped the worker's heartbeats; this one walks the key once.

const ms = (f: () => void) => {
  const started = performance.now();
  f();
  return performance.now() - started;
};

describe('attachment glob matching', () => {
  test('*, ?, classes, escapes and ** match as the shell does', () => {
    const cases: [string, string, boolean][] = [
      ['st/C1/*.pdf', 'st/C1/2026-10.pdf', true],
      ['st/C1/*.pdf', 'st/C1/x/2026-10.pdf', false],
      ['st/*/2026-1?.pdf', 'st/C2/2026-11.pdf', true],
      ['st/*/2026-1?.pdf', 'st/C2/2026-1.pdf', false],
      ['deep/**/C1.pdf', 'deep/C1.pdf', true],
      ['deep/**/C1.pdf', 'deep/x/y/C1.pdf', true],
      ['deep/**/C1.pdf', 'deep/xC1.pdf', false],
      ['deep/**', 'deep', true],
      ['deep/**', 'deep/a/b', true],
      ['deep/**', 'deeper/a', false],
      ['st/C[0-9]/[!x]*.pdf', 'st/C7/a.pdf', true],
      ['st/C[0-9]/[!x]*.pdf', 'st/C7/x.pdf', false],
      ['st/C[0-9]/[^x]*.pdf', 'st/CA/a.pdf', false],
      ['st/Smith \\(2\\)/\\*.pdf', 'st/Smith (2)/*.pdf', true],
      ['st/Smith \\(2\\)/\\*.pdf', 'st/Smith (2)/a.pdf', false],
      ['a/*', 'a/.hidden', true],
      ['a?b', 'a/b', false],
    ];
    for (const [pattern, key, expected] of cases) assert.equal(compileGlob(pattern)(key), expected, `${pattern} against ${key}`);
  });

  test('the listing prefix is the literal folder, escapes removed', () => {
    assert.equal(globBase('st/C1/*.pdf'), 'st/C1/');
    assert.equal(globBase('st/a\\*b/c/*'), 'st/a*b/c/');
    assert.equal(globBase('*.pdf'), '');
    assert.equal(globBase('deep/x[0-9]/y'), 'deep/');
  });

  test('the worst patterns known for backtracking match in milliseconds', () => {
    const worst: [string, string][] = [
      ['pre/*?*?*?*?*?*?*?*?Z', `pre/${'a'.repeat(60)}`],
      ['*a'.repeat(10), `${'a'.repeat(40)}b`],
      [`${'*a'.repeat(200)}Z`, 'a'.repeat(1000)],
      [`**/${'*?'.repeat(100)}x/**/y`, `${'a/'.repeat(300)}${'b'.repeat(300)}`],
    ];
    for (const [pattern, key] of worst) {
      const isMatch = compileGlob(pattern);
      let result = true;
      const took = ms(() => (result = isMatch(key)));
      assert.equal(result, false, pattern);
      assert.ok(took < 250, `${pattern.slice(0, 40)}… took ${took.toFixed(1)} ms`);
    }
  });

  test('a pattern with more wildcards than a match may carry is refused before it is compiled', () => {
    assert.match(globSyntaxProblem('pre/*?*?*?*?*?*?*?*?Z') ?? '', /has 16 wildcards; a pattern may have at most 12/);
    assert.equal(globSyntaxProblem('pre/*?*?*?*?*?*?Z'), undefined);
    assert.equal(globSyntaxProblem('st/{{ id }}/**/*.pdf'), undefined);
  });
});
