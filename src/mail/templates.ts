import { Liquid, type Template } from 'liquidjs';
import { firstLine, SANDBOXED_LIQUID, type TemplateKind } from '../contract/template-syntax.js';

// Templates use Liquid (`{{ variable }}`) in strict mode: a variable that is not defined for a
// recipient is an error, never an empty string. The options and the syntax check are the
// contract's (src/contract/template-syntax.ts); what rendering may cost is configured here.

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

/** How much compiled template text one process keeps (CompiledTemplates): entries, and their source characters together. */
export interface CompiledCacheBounds {
  entries: number;
  chars: number;
}

const DEFAULT_COMPILED_CACHE: CompiledCacheBounds = { entries: 256, chars: 4_000_000 };

/**
 * Compiled templates by their source text, least recently used first out. Every message of a
 * campaign is composed from the same few templates, and compiling them again for each recipient
 * cost about as much CPU as rendering them (0.13 and 0.12 ms per message in a profiled bench run).
 * Keyed by the text itself, not by the campaign: a campaign whose content changed (or another
 * campaign with the same text) finds exactly what its text compiles to, never a stale template,
 * and a compile that fails is never kept. The compiled form depends only on the text, its kind
 * and the engine's limits, and each Templates (one set of limits) has its own cache.
 */
class CompiledTemplates {
  private readonly bySource = new Map<string, Partial<Record<TemplateKind, Template[]>>>();
  private chars = 0;

  constructor(private readonly bounds: CompiledCacheBounds) {}

  get size(): number {
    return this.bySource.size;
  }

  get(source: string, kind: TemplateKind, compile: () => Template[]): Template[] {
    const entry = this.bySource.get(source);
    if (entry) {
      // Most recently used goes last: a Map iterates in insertion order.
      this.bySource.delete(source);
      this.bySource.set(source, entry);
      return (entry[kind] ??= compile());
    }
    const tpl = compile();
    // A text that alone would take a quarter of the room is compiled each time instead.
    if (source.length > this.bounds.chars / 4) return tpl;
    this.bySource.set(source, { [kind]: tpl });
    this.chars += source.length;
    for (const [oldest] of this.bySource) {
      if (this.bySource.size <= this.bounds.entries && this.chars <= this.bounds.chars) break;
      this.bySource.delete(oldest);
      this.chars -= oldest.length;
    }
    return tpl;
  }
}

/** The Liquid engines of one process, under its limits: built once in each composition root and passed on. */
export class Templates {
  private readonly plain: Liquid;
  private readonly html: Liquid;
  private readonly compiled: CompiledTemplates;

  constructor(
    readonly limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
    cache: CompiledCacheBounds = DEFAULT_COMPILED_CACHE,
  ) {
    const bounded = { ...SANDBOXED_LIQUID, parseLimit: limits.parseChars, renderLimit: limits.renderMs, memoryLimit: limits.memory };
    this.plain = new Liquid(bounded);
    this.html = new Liquid({ ...bounded, outputEscape: 'escape' });
    this.compiled = new CompiledTemplates(cache);
  }

  /** Compiles `source`, or answers what it compiled to before (the compiled form is only read when rendering). */
  compile(source: string, kind: TemplateKind): CompiledTemplate {
    const engine = kind === 'html' ? this.html : this.plain;
    return { engine, limits: this.limits, tpl: this.compiled.get(source, kind, () => engine.parse(source)) };
  }

  /** Compiled templates kept for reuse right now (for tests). */
  get cachedTemplates(): number {
    return this.compiled.size;
  }

  /** Returns a problem description when `source` does not compile under these limits, otherwise undefined. */
  problem(source: string, kind: TemplateKind): string | undefined {
    try {
      this.compile(source, kind);
      return undefined;
    } catch (err) {
      return firstLine(err);
    }
  }

  /** The time all of one recipient's templates may take, from now (default: renderMs). */
  budget(ms: number = this.limits.renderMs): RenderBudget {
    return new RenderBudget(ms);
  }
}

export interface CompiledTemplate {
  engine: Liquid;
  limits: TemplateLimits;
  tpl: Template[];
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
  constructor(readonly ms: number) {
    this.deadline = performance.now() + ms;
  }
  remainingMs(): number {
    return this.deadline - performance.now();
  }
}

/** Renders under the budget given, else under the render limit of the templates it was compiled by. */
export function renderTemplate(t: CompiledTemplate, scope: Record<string, unknown>, budget?: RenderBudget): string {
  const renderLimit = budget ? budget.remainingMs() : t.limits.renderMs;
  const allowed = budget?.ms ?? t.limits.renderMs;
  if (renderLimit <= 0) throw new TemplateRenderError(`template render limit exceeded (${allowed} ms)`, { overLimit: true });
  try {
    return t.engine.renderSync(t.tpl, scope, { renderLimit }) as string;
  } catch (err) {
    const message = firstLine(err);
    if (/(template render|memory alloc) limit exceeded/.test(message)) {
      throw new TemplateRenderError(/template render/.test(message) ? `template render limit exceeded (${allowed} ms)` : `template memory limit exceeded (${t.limits.memory})`, { overLimit: true });
    }
    throw new TemplateRenderError(message);
  }
}

/** The templates a process's configuration (TEMPLATE_*) asks for. */
export function templatesFrom(config: { TEMPLATE_PARSE_LIMIT: number; TEMPLATE_RENDER_MS: number; TEMPLATE_MEMORY_LIMIT: number }): Templates {
  return new Templates({ parseChars: config.TEMPLATE_PARSE_LIMIT, renderMs: config.TEMPLATE_RENDER_MS, memory: config.TEMPLATE_MEMORY_LIMIT });
}
