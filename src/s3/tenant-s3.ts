import type { Db } from '../db/sql.js';
import { tenantPolicy } from '../db/tenants.js';
import type { S3Store } from './client.js';
import { scopedStore, type S3Location } from './locations.js';

/**
 * The S3 store as one tenant may read it, by its locations as they stand now: every read (build,
 * preview, test send, send, Sent copy) asks again, since the admin may narrow them at any time.
 */
export async function tenantS3(o: { sql: Db; s3: S3Store; s3Locations?: readonly S3Location[] }, tenant: string): Promise<S3Store> {
  const policy = await tenantPolicy(o.sql, tenant, o.s3Locations ?? []);
  return scopedStore(o.s3, policy.s3Locations);
}
