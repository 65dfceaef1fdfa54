import type { S3ObjectInfo, S3Store } from '../s3/client.js';

/**
 * Every object under one S3 prefix, listed once and kept sorted, so that a build looks up
 * 100,000 per-recipient attachments with a few hundred LIST pages instead of 100,000 HEAD or
 * LIST requests. A prefix holding more than `maxKeys` objects is not indexed (the caller asks
 * S3 per recipient instead), which bounds the memory a build can take.
 */
export class PrefixIndex {
  private constructor(
    readonly prefix: string,
    private readonly keys: string[],
    private readonly objects: Map<string, S3ObjectInfo>,
  ) {}

  static async load(s3: S3Store, bucket: string, prefix: string, maxKeys: number): Promise<PrefixIndex | undefined> {
    const objects = new Map<string, S3ObjectInfo>();
    for await (const o of s3.list(bucket, prefix)) {
      if (objects.size >= maxKeys) return undefined;
      objects.set(o.key, o);
    }
    // Sorted here, by the same comparison the lookups use, whatever order the store lists in.
    return new PrefixIndex(prefix, [...objects.keys()].sort(), objects);
  }

  covers(key: string): boolean {
    return key.startsWith(this.prefix);
  }

  get(key: string): S3ObjectInfo | undefined {
    return this.objects.get(key);
  }

  /** Every object whose key starts with `prefix`, in key order. */
  *withPrefix(prefix: string): Generator<S3ObjectInfo> {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.keys.length && this.keys[i]!.startsWith(prefix); i++) {
      yield this.objects.get(this.keys[i]!)!;
    }
  }
}

/**
 * The literal folder a key template starts with: everything before its first variable (or, in a
 * glob, its first pattern character), cut back to the last `/`. Empty when there is none.
 */
export function literalFolder(keyTemplate: string, glob: boolean): string {
  const special = keyTemplate.search(glob ? /[{*?[()!+@|\\]/ : /\{/);
  const literal = special === -1 ? keyTemplate : keyTemplate.slice(0, special);
  return literal.slice(0, literal.lastIndexOf('/') + 1);
}
