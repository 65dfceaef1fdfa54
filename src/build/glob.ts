// Attachment key patterns are tenant text matched against every key of a folder, so matching
// must cost the same whatever the pattern: a backtracking regular expression takes seconds on
// `*?*?*?…Z` against one key. Here a pattern is a list of tokens run as a set of states over the
// key, one pass, so a match costs at most (key length × pattern length) steps.

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'one' } // ?
  | { kind: 'class'; negated: boolean; ranges: [string, string][] } // [a-z], [!x]
  | { kind: 'star' } // * within one segment
  | { kind: 'folders' } // **/ : no folder or any number of whole folders
  | { kind: 'tail' } // the / before a trailing **: the folder itself or anything in it
  | { kind: 'rest' }; // a trailing ** : anything

/**
 * Compiles the plain subset of globs the campaign schema accepts (`*`, `**`, `?`, `[...]`
 * classes, `\` escapes for variable values): `*` and `?` stop at `/`, `**` as a whole segment
 * crosses folders, and a dot needs no special match.
 */
export function compileGlob(pattern: string): (key: string) => boolean {
  const tokens = tokenize(pattern);
  return (key) => matches(tokens, key);
}

/** The literal folder a pattern starts with (escapes removed), as a listing prefix: `st/C1/` for `st/C1/*.pdf`. */
export function globBase(pattern: string): string {
  let literal = '';
  let folder = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      literal += pattern[++i];
      continue;
    }
    if (ch === '*' || ch === '?' || ch === '[') break;
    literal += ch;
    if (ch === '/') folder = literal;
  }
  return folder;
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  const segments = pattern.split('/');
  segments.forEach((segment, s) => {
    const last = s === segments.length - 1;
    if (segment === '**' && !last) {
      tokens.push({ kind: 'folders' });
      return;
    }
    if (segment === '**') {
      // `a/**` is `a` and everything under it; a lone `**` is everything.
      if (tokens.at(-1)?.kind === 'char' && (tokens.at(-1) as { char: string }).char === '/') tokens.splice(-1, 1, { kind: 'tail' });
      tokens.push({ kind: 'rest' });
      return;
    }
    tokenizeSegment(segment, tokens);
    if (!last) tokens.push({ kind: 'char', char: '/' });
  });
  return tokens;
}

function tokenizeSegment(segment: string, tokens: Token[]): void {
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '\\' && i + 1 < segment.length) {
      tokens.push({ kind: 'char', char: segment[++i]! });
    } else if (ch === '*') {
      // `**` inside a segment is a `*`; runs of stars are one star.
      while (segment[i + 1] === '*') i++;
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (ch === '?') {
      tokens.push({ kind: 'one' });
    } else if (ch === '[' && segment.indexOf(']', i + 2) !== -1) {
      const end = segment.indexOf(']', i + 2);
      tokens.push(classToken(segment.slice(i + 1, end)));
      i = end;
    } else {
      tokens.push({ kind: 'char', char: ch });
    }
  }
}

function classToken(body: string): Token {
  const negated = body.startsWith('!') || body.startsWith('^');
  const chars = [...(negated ? body.slice(1) : body)];
  const ranges: [string, string][] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      ranges.push([chars[i]!, chars[i + 2]!]);
      i += 2;
    } else {
      ranges.push([chars[i]!, chars[i]!]);
    }
  }
  return { kind: 'class', negated, ranges };
}

/** Tokens that may match nothing: a state before one is also a state after it. */
const optional = (t: Token | undefined) => t?.kind === 'star' || t?.kind === 'folders' || t?.kind === 'rest';

// A state is a token index, or -(i + 1) for "inside the folders that the `**/` at token i matches".
function matches(tokens: Token[], key: string): boolean {
  let states = close(tokens, new Set([0]));
  for (const ch of key) {
    const next = new Set<number>();
    for (const i of states) {
      if (i < 0) {
        // Inside the folders of a `**/`: it ends only with a `/`.
        next.add(i);
        if (ch === '/') next.add(-i);
        continue;
      }
      const t = tokens[i];
      if (!t) continue;
      switch (t.kind) {
        case 'char':
          if (t.char === ch) next.add(i + 1);
          break;
        case 'one':
          if (ch !== '/') next.add(i + 1);
          break;
        case 'class':
          if (ch !== '/' && t.ranges.some(([lo, hi]) => ch >= lo && ch <= hi) !== t.negated) next.add(i + 1);
          break;
        case 'star':
          if (ch !== '/') next.add(i);
          break;
        case 'folders':
          next.add(ch === '/' ? i + 1 : -(i + 1));
          break;
        case 'tail':
          if (ch === '/') next.add(i + 1);
          break;
        case 'rest':
          next.add(i);
          break;
      }
    }
    if (next.size === 0) return false;
    states = close(tokens, next);
  }
  return states.has(tokens.length);
}

function close(tokens: Token[], states: Set<number>): Set<number> {
  for (const i of states) {
    if (optional(tokens[i])) states.add(i + 1);
    else if (tokens[i]?.kind === 'tail') states.add(i + 2);
  }
  return states;
}
