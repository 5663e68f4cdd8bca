export { Databases } from '../storage/databases.js';
export { migrate } from './migrate.js';
export { PgSql } from './pg-sql.js';
export { PgliteSql } from './pglite-sql.js';
export type { Migration, Sql, SqlQueryable, SqlResult } from './sql.js';
