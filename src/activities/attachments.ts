import picomatch from 'picomatch';
import type { AttachmentSpec } from '../contract/campaign.js';
import type { ResolvedAttachment } from '../db/recipients.js';
import { compileTemplate, renderTemplate, TemplateRenderError, type CompiledTemplate } from '../mail/templates.js';
import type { S3Store } from '../s3/client.js';

export interface AttachmentFindings {
  found: ResolvedAttachment[];
  blocked: string[];
  review: string[];
  warnings: string[];
}

/** A campaign's attachment specs, compiled once and resolved against S3 per recipient. */
export class AttachmentResolver {
  private readonly specs: { spec: AttachmentSpec; key: CompiledTemplate }[];

  constructor(
    specs: AttachmentSpec[],
    private readonly s3: S3Store,
  ) {
    this.specs = specs.map((spec) => ({ spec, key: compileTemplate(spec.key, 'plain') }));
  }

  async resolve(scope: Record<string, unknown>): Promise<AttachmentFindings> {
    const out: AttachmentFindings = { found: [], blocked: [], review: [], warnings: [] };
    for (const { spec, key: keyTemplate } of this.specs) {
      let key: string;
      try {
        key = renderTemplate(keyTemplate, scope);
      } catch (err) {
        if (!(err instanceof TemplateRenderError)) throw err;
        out.blocked.push(`missing-variable: attachment key ${spec.key}: ${err.message}`);
        continue;
      }
      const where = `s3://${spec.bucket}/${key}`;
      const matches = await this.find(spec.bucket, key);
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
        out.found.push({ bucket: spec.bucket, key: m.key, filename: m.key.split('/').pop() || m.key, size: m.size });
      }
    }
    return out;
  }

  /** An exact key is one HEAD; a glob lists its literal prefix and filters the listing. */
  private async find(bucket: string, key: string) {
    const scan = picomatch.scan(key);
    if (!scan.isGlob) {
      const found = await this.s3.head(bucket, key);
      return found ? [found] : [];
    }
    const isMatch = picomatch(key, { dot: true });
    const prefix = scan.base ? `${scan.base}/` : '';
    const matches = [];
    for await (const o of this.s3.list(bucket, prefix)) if (isMatch(o.key)) matches.push(o);
    return matches;
  }
}
