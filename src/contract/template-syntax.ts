import { Liquid } from 'liquidjs';
import { LIQUID_OPTIONS } from './liquid.js';

// Whether a template is valid Liquid: part of the contract, so the campaign schema refuses a
// template that could never render. Only its syntax: what rendering may cost is the renderer's
// (src/mail/templates.ts), configured per process.

export type TemplateKind = 'plain' | 'html';

// Templates never reach the file system: the include/render/layout tags see an empty store.
const noFiles = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file: string) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  readFileSync: (file: string) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_root: string, file: string) => file,
};

/** The options every engine is built with, the renderer's (src/mail/templates.ts) too. */
export const SANDBOXED_LIQUID = { ...LIQUID_OPTIONS, fs: noFiles, relativeReference: false } as const;

const engines = { plain: new Liquid(SANDBOXED_LIQUID), html: new Liquid({ ...SANDBOXED_LIQUID, outputEscape: 'escape' }) };

/** Returns a problem description when `source` is not a valid template, otherwise undefined. */
export function templateSyntaxError(source: string, kind: TemplateKind): string | undefined {
  try {
    engines[kind].parse(source);
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
