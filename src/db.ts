/**
 * The Prisma client, for SQLite (`file:` URLs, through libsql) or PostgreSQL. It is a
 * module singleton, not a context field: services import it, the GraphQL context stays small.
 *
 * Two clients are generated from one schema (see prisma/schema.prisma) because a client
 * generated for SQLite refuses the pg adapter. Their APIs are identical, so the code is
 * typed against the SQLite one.
 */
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import { getConfig } from './config.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';
import { PrismaClient as PgPrismaClient } from './generated/prisma-pg/client.js';

export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

export function isSqliteUrl(url: string): boolean {
  return url.startsWith('file:');
}

export function createDb(url: string): Db {
  if (isSqliteUrl(url)) {
    return new PrismaClient({ adapter: new PrismaLibSql({ url }) });
  }
  return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Db;
}

export const db: Db = createDb(getConfig().databaseUrl);
