import type { AttachmentSpec } from '../contract/campaign.js';
import type { ResolvedAttachment } from '../db/recipients.js';
import { renderTemplate, TemplateRenderError, Templates, type CompiledTemplate } from '../mail/templates.js';
import type { S3ObjectInfo, S3Store } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import { literalFolder, PrefixIndex } from './attachment-index.js';
import { isGlobTemplate } from '../contract/key-patterns.js';
import { compileGlob, globBase } from './glob.js';

export interface AttachmentFindings {
  found: ResolvedAttachment[];
  blocked: string[];
  review: string[];
  warnings: string[];
}

/** One spec's key for one recipient: rendered, or the reason it cannot be (a variable it lacks). */
export type RenderedKey = { key: string } | { blocked: string };

/** Objects a build may hold in memory per indexed folder (about 200 bytes each). */
const MAX_INDEX_KEYS = 250_000;
/** Look-ups in a folder asked of S3 one by one before the folder is listed: a short list never pays for listing a big folder. */
const INDEX_AFTER = 500;

interface CompiledSpec {
  spec: AttachmentSpec;
  key: CompiledTemplate;
  /** The folder every key of this spec lies in, listed once per build; '' when there is none. */
  folder: string;
  /** A key without variables is the same for everyone: looked up once. */
  constant: boolean;
  /** Whether the template's own text (not its variables' values) is a glob pattern. */
  glob: boolean;
}

/** Matches a glob may attach to one message: a pattern matching more blocks the recipient. */
const MAX_GLOB_MATCHES = 100;

/** Variable values as literal text inside a glob pattern. */
function escapeGlob(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/[\\*?[\]{}()!+@|]/g, '\\$&');
  if (Array.isArray(value)) return value.map(escapeGlob);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeGlob(v)]));
  return value;
}

/**
 * A campaign's attachment specs, compiled once and resolved against S3 per recipient. Once a
 * list has asked about a folder INDEX_AFTER times, or is known to be longer than one batch
 * (expectMany), the folder is listed once and looked up in memory (see PrefixIndex); before
 * that, and for a folder too large to hold, each look-up is one HEAD (exact key) or LIST (glob).
 */
export class AttachmentResolver {
  private readonly specs: CompiledSpec[];
  private readonly indexes = new Map<string, Promise<PrefixIndex | undefined>>();
  private readonly constants = new Map<string, Promise<S3ObjectInfo[]>>();
  private readonly lookups = new Map<string, number>();
  /** Set once the list is known to be long: folders are listed at their first look-up. */
  private many = false;

  constructor(
    specs: AttachmentSpec[],
    private readonly s3: S3Store,
    private readonly o: { maxIndexKeys?: number; indexAfter?: number; templates?: Templates } = {},
  ) {
    const templates = o.templates ?? new Templates();
    this.specs = specs.map((spec) => {
      const glob = isGlobTemplate(spec.key);
      return {
        spec,
        key: templates.compile(spec.key, 'plain'),
        folder: literalFolder(spec.key, glob),
        constant: !/\{\{|\{%/.test(spec.key),
        glob,
      };
    });
  }

  /**
   * The list has more recipients than one batch: a folder is listed at its next look-up instead of
   * after INDEX_AFTER look-ups one by one, which a long list would pay for anyway.
   */
  expectMany(): void {
    this.many = true;
    // Listed from now, while the entries are rendered, instead of at the first look-up. A folder
    // the tenant may not list whole is left to its look-ups (see findIndexed).
    for (const { spec, folder, constant } of this.specs) {
      if (constant || !folder || this.s3.allows?.(spec.bucket, folder) === false) continue;
      this.index(spec.bucket, folder).catch(() => undefined); // a look-up that awaits it meets the error
    }
  }

  private index(bucket: string, folder: string): Promise<PrefixIndex | undefined> {
    const id = `${bucket}/${folder}`;
    if (!this.indexes.has(id)) this.indexes.set(id, PrefixIndex.load(this.s3, bucket, folder, this.o.maxIndexKeys ?? MAX_INDEX_KEYS));
    return this.indexes.get(id)!;
  }

  async resolve(scope: Record<string, unknown>): Promise<AttachmentFindings> {
    return this.find(this.keysFor(scope));
  }

  /** Every spec's key for one recipient, rendered from its variables (no S3 yet): what `find` looks up. */
  keysFor(scope: Record<string, unknown>): RenderedKey[] {
    return this.specs.map((compiled) => {
      try {
        return { key: renderTemplate(compiled.key, compiled.glob ? (escapeGlob(scope) as Record<string, unknown>) : scope) };
      } catch (err) {
        if (!(err instanceof TemplateRenderError)) throw err;
        return { blocked: `missing-variable: attachment key ${compiled.spec.key}: ${err.message}` };
      }
    });
  }

  /** The attachments the keys name, looked up in S3 (or a folder's listing), with what is wrong with them. */
  async find(keys: RenderedKey[]): Promise<AttachmentFindings> {
    const out: AttachmentFindings = { found: [], blocked: [], review: [], warnings: [] };
    for (const [i, compiled] of this.specs.entries()) {
      const { spec } = compiled;
      const rendered = keys[i]!;
      if ('blocked' in rendered) {
        out.blocked.push(rendered.blocked);
        continue;
      }
      const { key } = rendered;
      const where = `s3://${spec.bucket}/${key}`;
      let matches: S3ObjectInfo[];
      try {
        matches = await this.lookup(compiled, key);
      } catch (err) {
        // A variable's value led outside the tenant's S3 locations: nothing was asked of S3.
        if (!(err instanceof LocationDeniedError)) throw err;
        out.blocked.push(`attachment-location: ${err.message}`);
        continue;
      }
      if (matches.length > MAX_GLOB_MATCHES) {
        out.blocked.push(`attachment-too-many: ${where} matches more than ${MAX_GLOB_MATCHES} objects`);
        continue;
      }
      if (matches.length === 0) {
        if (spec.required) out.blocked.push(`attachment-missing: ${where} does not exist`);
        else out.review.push(`attachment-optional-missing: ${where} does not exist`);
        continue;
      }
      if (matches.length > spec.maxMatches) {
        out.review.push(
          `attachment-ambiguous: ${where} matches ${matches.length} objects, expected at most ${spec.maxMatches}: ` +
            matches.slice(0, 5).map((m) => m.key).join(', ') + (matches.length > 5 ? ', ...' : ''),
        );
      }
      for (const m of matches) {
        if (m.size === 0) out.warnings.push(`attachment-empty: s3://${spec.bucket}/${m.key} is 0 bytes`);
        out.found.push({ bucket: spec.bucket, key: m.key, filename: m.key.split('/').pop() || m.key, size: m.size, ...(m.etag ? { etag: m.etag } : {}), ...(spec.unique ? { unique: true } : {}) });
      }
    }
    return out;
  }

  private lookup({ spec, folder, constant, glob }: CompiledSpec, key: string): Promise<S3ObjectInfo[]> {
    if (constant) {
      const id = `${spec.bucket}/${key}`;
      if (!this.constants.has(id)) this.constants.set(id, this.findObjects(spec.bucket, key, glob));
      return this.constants.get(id)!;
    }
    return this.findIndexed(spec.bucket, folder, key, glob);
  }

  private async findIndexed(bucket: string, folder: string, key: string, glob: boolean): Promise<S3ObjectInfo[]> {
    // A key the tenant may not read is asked of the store, which refuses it by name (a listing
    // only holds what may be read, so the index would call it missing).
    if (!folder || !key.startsWith(folder) || this.s3.allows?.(bucket, key) === false) return this.findObjects(bucket, key, glob);
    const id = `${bucket}/${folder}`;
    if (!this.indexes.has(id)) {
      const n = (this.lookups.get(id) ?? 0) + 1;
      this.lookups.set(id, n);
      if (!this.many && n <= (this.o.indexAfter ?? INDEX_AFTER)) return this.findObjects(bucket, key, glob);
    }
    const index = await this.index(bucket, folder);
    if (!index) return this.findObjects(bucket, key, glob);
    if (!glob) {
      const found = index.get(key);
      return found ? [found] : [];
    }
    const isMatch = compileGlob(key);
    const matches = [];
    for (const o of index.withPrefix(globBase(key))) {
      if (isMatch(o.key) && matches.push(o) > MAX_GLOB_MATCHES) break;
    }
    return matches;
  }

  /** Straight from S3: an exact key is one HEAD; a glob lists its literal prefix and filters it. */
  private async findObjects(bucket: string, key: string, glob: boolean): Promise<S3ObjectInfo[]> {
    if (!glob) {
      const found = await this.s3.head(bucket, key);
      return found ? [found] : [];
    }
    const isMatch = compileGlob(key);
    const matches = [];
    for await (const o of this.s3.list(bucket, globBase(key))) {
      if (isMatch(o.key) && matches.push(o) > MAX_GLOB_MATCHES) break;
    }
    return matches;
  }
}
