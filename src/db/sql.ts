import postgres from 'postgres';

export type Sql = postgres.Sql<{}>;
/** A connection pool or a transaction: query functions take whichever they should run on. */
export type Db = Sql | postgres.TransactionSql<{}>;

export function createSql(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    transform: postgres.camel,
    onnotice: () => {},
    connect_timeout: 10,
  });
}
