import { Liquid, type Template } from 'liquidjs';

// Templates use Liquid (`{{ variable }}`) in strict mode: a variable that is not defined for a
// recipient is an error, never an empty string. Templates never reach the file system: the
// include/render/layout tags see an empty store.
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

const common = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  timezoneOffset: 0,
  fs: noFiles,
  relativeReference: false,
} as const;

const plain = new Liquid(common);
const html = new Liquid({ ...common, outputEscape: 'escape' });

export type TemplateKind = 'plain' | 'html';

export interface CompiledTemplate {
  kind: TemplateKind;
  tpl: Template[];
}

export function compileTemplate(source: string, kind: TemplateKind): CompiledTemplate {
  return { kind, tpl: (kind === 'html' ? html : plain).parse(source) };
}

/** Returns a problem description when `source` is not a valid template, otherwise undefined. */
export function templateSyntaxError(source: string, kind: TemplateKind): string | undefined {
  try {
    compileTemplate(source, kind);
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

export class TemplateRenderError extends Error {
  override name = 'TemplateRenderError';
}

export function renderTemplate(t: CompiledTemplate, scope: Record<string, unknown>): string {
  try {
    return (t.kind === 'html' ? html : plain).renderSync(t.tpl, scope) as string;
  } catch (err) {
    throw new TemplateRenderError(firstLine(err));
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
