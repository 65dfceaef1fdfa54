// Which attachment key templates are glob patterns, and which patterns are acceptable: checked
// by the campaign schema, the tenant settings and the build alike. Plain regular expressions only.

const LIQUID_TAG = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/**
 * Glob patterns are tenant text compiled into regular expressions, so only a plain subset is
 * accepted: `*`, `**`, `?` and character classes (`[abc]`, `[a-z]`, `[!x]`). Extglobs
 * (`@(a|b)`, `*(x)`), braces and escapes could take a minute to match one key; they are refused.
 */
// Braces count as glob syntax so that a brace pattern is refused as one, not looked up as a name.
const GLOB_CHARS = /[*?[{]/;
const CLASS = /\[[!^]?[^\]\[\\/]+\]/g;

/** Wildcards (`*`, `**`, `?`) a pattern may hold: each is a state a match carries along the key. */
const MAX_WILDCARDS = 12;

/** A glob is a property of the template: "Smith (2)" in a variable is a name, not a pattern. */
export function isGlobTemplate(keyTemplate: string): boolean {
  return GLOB_CHARS.test(keyTemplate.replace(LIQUID_TAG, 'x'));
}

/** Why a key template is not an acceptable pattern, or undefined. */
export function globSyntaxProblem(keyTemplate: string): string | undefined {
  const text = keyTemplate.replace(LIQUID_TAG, 'x');
  if (/[@!+*?]\(/.test(text)) return 'uses an extglob such as @(a|b); a pattern may use only *, **, ? and [...] classes';
  if (/[{}]/.test(text)) return 'uses braces outside {{ }}; a pattern may use only *, **, ? and [...] classes';
  if (!isGlobTemplate(keyTemplate)) return undefined;
  const outsideClasses = text.replace(CLASS, 'x');
  if (/[[\]]/.test(outsideClasses)) return 'has a [ without its ] or a class that is not plain; a class is like [abc], [a-z] or [!x]';
  if (/[()|\\]/.test(outsideClasses) || outsideClasses.startsWith('!')) {
    return 'uses ( ) | \\ or a leading !; a pattern may use only *, **, ? and [...] classes';
  }
  const wildcards = outsideClasses.match(/\*+|\?/g)?.length ?? 0;
  if (wildcards > MAX_WILDCARDS) return `has ${wildcards} wildcards; a pattern may have at most ${MAX_WILDCARDS} (a run of * counts once)`;
  return undefined;
}

/**
 * Why a key (or a key template, or a listing prefix) could climb out of a prefix: a `.` or `..`
 * segment, a leading `/`, an empty segment or a backslash. S3 keys are opaque, but proxies and
 * S3-compatible stores normalise paths, so such a key may not name the object it seems to.
 */
export function keyProblem(key: string): string | undefined {
  if (key.startsWith('/')) return 'must not start with "/"';
  if (key.includes('\\')) return 'must not contain "\\"';
  const segments = key.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." path segments';
  if (segments.slice(0, -1).some((s) => s === '')) return 'must not contain "//"';
  return undefined;
}
