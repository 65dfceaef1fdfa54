import type { Db } from './sql.js';

export interface SuppressionRow {
  email: string;
  reason: string | null;
  createdAt: Date;
}

export async function addSuppression(db: Db, email: string, reason?: string): Promise<SuppressionRow> {
  const [row] = await db<SuppressionRow[]>`
    INSERT INTO suppressions (email, reason) VALUES (${email.toLowerCase()}, ${reason ?? null})
    ON CONFLICT (email) DO UPDATE SET reason = COALESCE(EXCLUDED.reason, suppressions.reason)
    RETURNING email, reason, created_at`;
  return row!;
}

export async function removeSuppression(db: Db, email: string): Promise<boolean> {
  const rows = await db`DELETE FROM suppressions WHERE email = ${email.toLowerCase()}`;
  return rows.count > 0;
}

export async function listSuppressions(db: Db, after: string, limit: number): Promise<SuppressionRow[]> {
  return db<SuppressionRow[]>`
    SELECT email, reason, created_at FROM suppressions WHERE email > ${after} ORDER BY email LIMIT ${limit}`;
}
