export const SCOPES = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'accounts:admin', 'keys:admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: set by the authentication middleware on `res.locals.auth`. */
export interface Caller {
  tenant: string;
  /** What actions are recorded under: `admin` for the configured key, `key:<name>` for a stored key. */
  principal: string;
  /** The person the key acts for: four eyes compares people, not keys (`admin` for the configured key). */
  person: string;
  scopes: ReadonlySet<Scope>;
  keyId?: string;
  /** The configured API_KEY: may create keys for other tenants. */
  bootstrap: boolean;
}
