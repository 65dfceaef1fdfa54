import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NotFound, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { S3Config } from '../config.js';

export interface S3ObjectInfo {
  key: string;
  size: number;
  /** The version of the object's bytes the store reports; a read can insist on it. */
  etag?: string;
}

/** The object is no longer the version a read insisted on (HTTP 412). */
export class ObjectChangedError extends Error {
  override name = 'ObjectChangedError';
}

/**
 * The few S3 operations the product needs, over any S3-compatible store. It reads anything its
 * credentials reach: tenants' reads go through `scopedStore` (./locations.ts), bound to their locations.
 */
export interface S3Store {
  head(bucket: string, key: string): Promise<S3ObjectInfo | undefined>;
  /** Every object under `prefix`, in key order, paging through the listing. */
  list(bucket: string, prefix: string): AsyncIterable<S3ObjectInfo>;
  stream(bucket: string, key: string): Promise<{ body: Readable; contentType?: string; size?: number }>;
  /** With `etag`, only that version: ObjectChangedError when the object has changed since. */
  read(bucket: string, key: string, etag?: string): Promise<Buffer>;
  /** Whether a read of `key` would be let through: a scoped store says (./locations.ts); absent, every key is. */
  allows?(bucket: string, key: string): boolean;
  close(): void;
}

export function createS3Store(
  config: Omit<S3Config, 'S3_ALLOWED_LOCATIONS'>,
): S3Store {
  const client = new S3Client({
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials:
      config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
        : undefined,
  });
  return {
    async head(bucket, key) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { key, size: r.ContentLength ?? 0, etag: r.ETag };
      } catch (err) {
        if (err instanceof NotFound || err instanceof NoSuchKey || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
          return undefined;
        }
        throw err;
      }
    },
    async *list(bucket, prefix) {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async stream(bucket, key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: r.Body as Readable, contentType: r.ContentType, size: r.ContentLength };
    },
    async read(bucket, key, etag) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (etag && (status === 412 || status === 404)) {
          throw new ObjectChangedError(`s3://${bucket}/${key} ${status === 404 ? 'is gone' : 'has changed'} since the list was built (built with ETag ${etag})`);
        }
        throw err;
      }
    },
    close() {
      client.destroy();
    },
  };
}

/**
 * Whether the store's answer is one another attempt will not change: a 4xx (no such bucket or key,
 * access denied) other than a timeout or throttling. Network errors and 5xx are transient.
 */
export function isPermanentS3Error(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}
