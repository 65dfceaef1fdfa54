import { keyProblem } from '../contract/key-patterns.js';
import type { S3ObjectInfo, S3Store } from './client.js';

/** A place in S3 a tenant may read: every key of `bucket` that starts with `prefix` ('' = the whole bucket). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** A read outside the tenant's S3 locations: refused before any request reaches S3. */
export class LocationDeniedError extends Error {
  override name = 'LocationDeniedError';
}

/** `S3_ALLOWED_LOCATIONS`: `bucket` or `bucket/prefix`, separated by commas or spaces. */
export function parseLocations(text: string | undefined): S3Location[] {
  return (text ?? '')
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((s) => {
      const slash = s.indexOf('/');
      return slash === -1 ? { bucket: s, prefix: '' } : { bucket: s.slice(0, slash), prefix: s.slice(slash + 1) };
    });
}

/**
 * A location's prefix is a folder: `acme` grants `acme/…`, never `acme-other/…`. A prefix given
 * without its closing `/` gets one here, where every comparison reads it.
 */
const folderOf = (l: S3Location) => (l.prefix === '' || l.prefix.endsWith('/') ? l.prefix : `${l.prefix}/`);

const describeLocation = (l: S3Location) => `s3://${l.bucket}/${folderOf(l)}`;

/** Whether `key` of `bucket` lies inside one of `locations`. */
function isWithin(locations: readonly S3Location[], bucket: string, key: string): boolean {
  return !keyProblem(key) && locations.some((l) => l.bucket === bucket && key.startsWith(folderOf(l)));
}

/**
 * Why a campaign's bucket and key template may not be read by the tenant, or undefined. The text
 * before the template's first variable (or glob character) must already lie inside a location:
 * whatever a variable or a pattern adds comes after the prefix, and every read is checked again.
 */
export function templateLocationProblem(
  locations: readonly S3Location[],
  bucket: string,
  keyTemplate: string,
  o: { glob: boolean },
): string | undefined {
  const problem = keyProblem(keyTemplate);
  if (problem) return problem;
  const inBucket = locations.filter((l) => l.bucket === bucket);
  if (inBucket.length === 0) {
    return locations.length === 0
      ? 'is outside the S3 locations of this tenant: it may read none'
      : `is outside the S3 locations of this tenant (${locations.map(describeLocation).join(', ')})`;
  }
  const special = keyTemplate.search(o.glob ? /\{\{|\{%|[*?[\]{}()!+@|]/ : /\{\{|\{%/);
  const literal = special === -1 ? keyTemplate : keyTemplate.slice(0, special);
  if (inBucket.some((l) => literal.startsWith(folderOf(l)))) return undefined;
  return `must start with the prefix of one of this tenant's S3 locations (${inBucket.map(describeLocation).join(', ')}) before any variable or pattern`;
}

/**
 * An S3 store that reads only inside `locations`: a key outside is a LocationDeniedError before
 * any request, and a listing wider than a location lists only the part inside it.
 */
export function scopedStore(s3: S3Store, locations: readonly S3Location[]): S3Store {
  const assertWithin = (bucket: string, key: string) => {
    if (!isWithin(locations, bucket, key)) {
      throw new LocationDeniedError(`s3://${bucket}/${key} is outside the S3 locations this tenant may read`);
    }
  };
  return {
    async head(bucket, key) {
      assertWithin(bucket, key);
      return s3.head(bucket, key);
    },
    async *list(bucket, prefix): AsyncGenerator<S3ObjectInfo> {
      const problem = keyProblem(prefix);
      const starts = problem
        ? []
        : locations
            .filter((l) => l.bucket === bucket)
            .map(folderOf)
            .map((folder) => (prefix.startsWith(folder) ? prefix : folder.startsWith(prefix) ? folder : undefined))
            .filter((p): p is string => p !== undefined);
      if (starts.length === 0) throw new LocationDeniedError(`listing s3://${bucket}/${prefix} is outside the S3 locations this tenant may read`);
      // A narrower start inside a wider one would list its objects twice.
      const distinct = starts.filter((p, i) => !starts.some((q, j) => j !== i && p.startsWith(q) && (p !== q || j < i)));
      for (const start of distinct) {
        for await (const o of s3.list(bucket, start)) if (isWithin(locations, bucket, o.key)) yield o;
      }
    },
    allows(bucket, key) {
      return isWithin(locations, bucket, key);
    },
    async stream(bucket, key) {
      assertWithin(bucket, key);
      return s3.stream(bucket, key);
    },
    async read(bucket, key, etag) {
      assertWithin(bucket, key);
      return s3.read(bucket, key, etag);
    },
    close() {
      // the underlying store belongs to the process
    },
  };
}
