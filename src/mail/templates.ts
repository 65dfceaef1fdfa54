import { Liquid, type Template } from 'liquidjs';
import { LIQUID_OPTIONS } from '../contract/liquid.js';

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
  ...LIQUID_OPTIONS,
  fs: noFiles,
  relativeReference: false,
} as const;

/**
 * What one recipient's templates may cost. Templates are tenant text and are rendered in the API
 * (previews) and the worker (build, send): a nested loop or a doubling `append` must end in a
 * refusal, not in a blocked event loop or a 150 MB string.
 */
export interface TemplateLimits {
  /** Characters one template may have (liquidjs parseLimit). */
  parseChars: number;
  /**
   * Milliseconds all of one recipient's templates may take together (liquidjs renderLimit) in
   * the build and the send. Wall-clock time, so generous: a busy machine must not block a
   * recipient for good. The API's previews have a budget of their own (ApiLimits.previewRenderMs).
   */
  renderMs: number;
  /** Roughly the characters and array items one template may allocate (liquidjs memoryLimit). */
  memory: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = { parseChars: 5_000_000, renderMs: 1000, memory: 10_000_000 };

let limits = DEFAULT_TEMPLATE_LIMITS;
let plain: Liquid;
let html: Liquid;
configureTemplateLimits(DEFAULT_TEMPLATE_LIMITS);

/** Sets the limits of this process (from its configuration, once at start). */
export function configureTemplateLimits(next: TemplateLimits): void {
  limits = next;
  const bounded = { ...common, parseLimit: next.parseChars, renderLimit: next.renderMs, memoryLimit: next.memory };
  plain = new Liquid(bounded);
  html = new Liquid({ ...bounded, outputEscape: 'escape' });
}

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
  /** True when the template went over a render or memory limit, not when a variable was missing. */
  readonly overLimit: boolean;
  constructor(message: string, o: { overLimit?: boolean } = {}) {
    super(message);
    this.overLimit = o.overLimit ?? false;
  }
}

/** The time left for one recipient's templates: they share one budget, not one each. */
export class RenderBudget {
  private readonly deadline: number;
  constructor(readonly ms: number = limits.renderMs) {
    this.deadline = performance.now() + ms;
  }
  remainingMs(): number {
    return this.deadline - performance.now();
  }
}

export function renderTemplate(t: CompiledTemplate, scope: Record<string, unknown>, budget?: RenderBudget): string {
  const renderLimit = budget ? budget.remainingMs() : limits.renderMs;
  const allowed = budget?.ms ?? limits.renderMs;
  if (renderLimit <= 0) throw new TemplateRenderError(`template render limit exceeded (${allowed} ms)`, { overLimit: true });
  try {
    return (t.kind === 'html' ? html : plain).renderSync(t.tpl, scope, { renderLimit }) as string;
  } catch (err) {
    const message = firstLine(err);
    if (/(template render|memory alloc) limit exceeded/.test(message)) {
      throw new TemplateRenderError(/template render/.test(message) ? `template render limit exceeded (${allowed} ms)` : `template memory limit exceeded (${limits.memory})`, { overLimit: true });
    }
    throw new TemplateRenderError(message);
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
