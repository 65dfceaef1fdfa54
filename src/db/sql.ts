import postgres from 'postgres';

export type Sql = postgres.Sql<{}>;
/** A connection pool or a transaction: query functions take whichever they should run on. */
export type Db = Sql | postgres.TransactionSql<{}>;

export function createSql(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    // Column names only: postgres.camel would also rename the keys inside every JSON value read
    // back (a template variable `customer_id` became `customerId`, and a key ending in "_" threw).
    transform: { column: { from: postgres.toCamel, to: postgres.fromCamel } },
    onnotice: () => {},
    connect_timeout: 10,
  });
}

/** Resolves when the database answers: the health check's question. */
export async function pingDatabase(db: Db): Promise<void> {
  await db`SELECT 1`;
}
