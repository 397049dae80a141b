/**
 * The Prisma client, for SQLite (`file:` URLs, through libsql) or PostgreSQL. It is a
 * module singleton, not a context field: services import it, the GraphQL context stays small.
 *
 * Two clients are generated from one schema (see prisma/schema.prisma) because a client
 * generated for SQLite refuses the pg adapter. Their APIs are identical, so the code is
 * typed against the SQLite one.
 */
import type { Client as LibsqlClient, Config as LibsqlConfig } from '@libsql/client';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import { getConfig } from './config.js';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, withPragmas } from './db/sqlite.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';
import { PrismaClient as PgPrismaClient } from './generated/prisma-pg/client.js';

export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

export function isSqliteUrl(url: string): boolean {
  return url.startsWith('file:');
}

export function createDb(url: string): Db {
  if (isSqliteUrl(url)) {
    // intMode 'bigint': a JSON column has NUMERIC affinity in SQLite, so a payload that is one
    // whole number past 2^53 is stored as a 64-bit INTEGER, which libsql's default mode refuses
    // to read. As bigints the adapter hands every integer to Prisma as text, which reads it
    // exactly (and Int columns, which never pass 2^31, the same as before). One difference:
    // an integer expression of a raw query (`SELECT count(*)`) now comes back as a BigInt.
    return new PrismaClient({ adapter: new ConfiguredLibSql({ url, timeout: SQLITE_BUSY_TIMEOUT_MS, intMode: 'bigint' }) });
  }
  return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Db;
}

/**
 * PrismaLibSql whose connections all run SQLITE_PRAGMAS and whose transactions begin
 * IMMEDIATE, on the client's own connection (see withPragmas in db/sqlite.ts).
 */
class ConfiguredLibSql extends PrismaLibSql {
  override createClient(config: LibsqlConfig): LibsqlClient {
    return withPragmas(() => super.createClient(config), SQLITE_PRAGMAS, { prismaAdapter: true });
  }
}

export const db: Db = createDb(getConfig().databaseUrl);
