import type { Db } from './sql.js';

export interface ApiKeyRow {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdBy: string;
  /** The person the key acts for; a key made by a stored key acts for its maker's person. */
  person: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const columns = (db: Db) => db`id, tenant, name, prefix, scopes, created_by, person, created_at, revoked_at`;

export async function ensureTenant(db: Db, tenant: string): Promise<void> {
  await db`INSERT INTO tenants (id) VALUES (${tenant}) ON CONFLICT (id) DO NOTHING`;
}

/** Inserts a key; answers undefined when the tenant already has a key of that name. */
export async function insertKey(
  db: Db,
  k: { id: string; tenant: string; name: string; keyHash: string; prefix: string; scopes: string[]; createdBy: string; person: string },
): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`
    INSERT INTO api_keys (id, tenant, name, key_hash, prefix, scopes, created_by, person)
    VALUES (${k.id}, ${k.tenant}, ${k.name}, ${k.keyHash}, ${k.prefix}, ${k.scopes}, ${k.createdBy}, ${k.person})
    ON CONFLICT (tenant, name) DO NOTHING
    RETURNING ${columns(db)}`;
  return row;
}

/** The live (not revoked) key with this hash. */
export async function findActiveKey(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`
    SELECT ${columns(db)} FROM api_keys WHERE key_hash = ${keyHash} AND revoked_at IS NULL`;
  return row;
}

export async function listKeys(db: Db, tenant: string): Promise<ApiKeyRow[]> {
  return db<ApiKeyRow[]>`SELECT ${columns(db)} FROM api_keys WHERE tenant = ${tenant} ORDER BY created_at, name`;
}

export async function getKey(db: Db, tenant: string, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`SELECT ${columns(db)} FROM api_keys WHERE tenant = ${tenant} AND id = ${id}`;
  return row;
}

/** Revokes a key of the tenant; a key already revoked keeps its first revocation time. */
export async function revokeKey(db: Db, tenant: string, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`
    UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
    WHERE tenant = ${tenant} AND id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

/**
 * The person behind a principal of the tenant: `admin` for the configured key, the key's person
 * for `key:<name>` (names are never reused in a tenant), the principal itself otherwise.
 */
export async function personOf(db: Db, tenant: string, principal: string): Promise<string> {
  if (!principal.startsWith('key:')) return principal;
  const [row] = await db<{ person: string }[]>`SELECT person FROM api_keys WHERE tenant = ${tenant} AND name = ${principal.slice(4)}`;
  return row?.person ?? principal;
}
