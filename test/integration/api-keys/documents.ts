/**
 * The API-key lifecycle tests' shared operations and checks. Operation names start with
 * `KeyLc` so they stay unique across the suite (codegen refuses duplicates).
 */
import { existsSync, readFileSync } from 'node:fs';
import { getNamedType, isLeafType, isNonNullType, isObjectType, type GraphQLObjectType } from 'graphql';
import { expect } from 'vitest';
import { db } from '../../../src/db.js';
import { digestSecret } from '../../../src/auth/credentials.js';
import { schema } from '../../../src/schema/index.js';
import { graphql } from '../../gql/index.js';
import { logLines } from '../../helpers/app.js';

// Codegen appends this fragment to every document below that spreads it.
graphql(`
  fragment KeyLcFields on ApiKey {
    id
    name
    description
    prefix
    role
    status
    expirationState
    projectAccess
    ipAllowlist
    createdAt
    expiresAt
    lastUsedAt
    lastUsedIp
    revokedAt
    rotatedAt
    authorizationGroup {
      id
    }
    tenant {
      id
    }
    organization {
      id
    }
    projects {
      id
    }
    createdBy {
      id
    }
    revokedBy {
      id
    }
  }
`);

export const CreateKey = graphql(`
  mutation KeyLcCreate($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        ...KeyLcFields
      }
    }
  }
`);

export const UpdateKey = graphql(`
  mutation KeyLcUpdate($id: ID!, $input: UpdateApiKeyInput!) {
    updateApiKey(id: $id, input: $input) {
      ...KeyLcFields
    }
  }
`);

export const RotateKey = graphql(`
  mutation KeyLcRotate($id: ID!) {
    rotateApiKey(id: $id) {
      secret
      apiKey {
        ...KeyLcFields
      }
    }
  }
`);

export const RevokeKey = graphql(`
  mutation KeyLcRevoke($id: ID!) {
    revokeApiKey(id: $id) {
      ...KeyLcFields
    }
  }
`);

export const GetKey = graphql(`
  query KeyLcGet($id: ID!) {
    apiKey(id: $id) {
      ...KeyLcFields
    }
  }
`);

export const ListKeys = graphql(`
  query KeyLcList(
    $tenantId: ID
    $status: [ApiKeyStatus!]
    $expirationState: [ExpirationState!]
    $first: Int
    $after: String
  ) {
    apiKeys(tenantId: $tenantId, status: $status, expirationState: $expirationState, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          status
          expirationState
          createdAt
          expiresAt
        }
      }
    }
  }
`);

export const KeyUsage = graphql(`
  query KeyLcUsage($tenantId: ID) {
    apiKeyUsage(tenantId: $tenantId) {
      active
      limit
    }
  }
`);

export const KeyViewer = graphql(`
  query KeyLcViewer {
    viewer {
      kind
      crossTenant
      permissions
      apiKey {
        id
      }
    }
  }
`);

export const UpdateTenantLimit = graphql(`
  mutation KeyLcUpdateTenantLimit($id: ID!, $limit: Int!) {
    updateTenant(id: $id, input: { apiKeyLimit: $limit }) {
      id
      apiKeyLimit
    }
  }
`);

/**
 * A selection of every field of a type, nested `depth` levels (fields with required
 * arguments skipped): written from the live schema so a field added later is covered too.
 */
export function everyField(typeName: string, depth = 2): string {
  return selectionOf(schema.getType(typeName) as GraphQLObjectType, depth);
}

function selectionOf(type: GraphQLObjectType, depth: number): string {
  const fields = Object.values(type.getFields()).filter((field) => field.args.every((arg) => !isNonNullType(arg.type)));
  const parts = fields.flatMap((field) => {
    const named = getNamedType(field.type);
    if (isLeafType(named)) return [field.name];
    if (depth > 0 && isObjectType(named)) return [`${field.name} ${selectionOf(named, depth - 1)}`];
    return [];
  });
  return `{ __typename ${parts.join(' ')} }`;
}

/** Every row of every table as text, PostgreSQL only (each row cast whole to text). */
async function postgresTableDump(): Promise<string> {
  const tables = await db.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  const dumps = await Promise.all(
    tables.map(({ table_name }) => db.$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${table_name}" t`)),
  );
  return dumps.flat().map((r) => r.row).join('\n');
}

/**
 * The secret is stored nowhere and logged nowhere: not in the SQLite file's bytes (nor its
 * journal), not in any PostgreSQL row, not in any log line the app wrote.
 */
export async function expectSecretStoredNowhere(secret: string, { keyRowHasThisSecret = true } = {}) {
  const url = process.env.DATABASE_URL ?? '';
  if (url.startsWith('file:')) {
    const file = url.slice('file:'.length);
    const bytes = Buffer.concat([file, `${file}-wal`, `${file}-journal`].filter(existsSync).map((path) => readFileSync(path)));
    // Guards the scan itself: the bytes do hold the key's row, whose digest is there.
    if (keyRowHasThisSecret) expect(bytes.includes(Buffer.from(digestSecret(secret))), 'the scanned bytes lack the key row').toBe(true);
    expect(bytes.includes(Buffer.from(secret, 'utf8')), 'secret found in the SQLite file').toBe(false);
  } else {
    const dump = await postgresTableDump();
    if (keyRowHasThisSecret) expect(dump.includes(digestSecret(secret)), 'the dump lacks the key row').toBe(true);
    expect(dump.includes(secret), 'secret found in a PostgreSQL row').toBe(false);
  }
  const logged = logLines.filter((line) => line.includes(secret));
  expect(logged, 'secret found in the log').toEqual([]);
}

export async function keyCount(tenantId: string) {
  const [keys, tenant, audits] = await Promise.all([
    db.apiKey.count({ where: { tenantId } }),
    db.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { activeApiKeyCount: true } }),
    db.auditEvent.count({ where: { tenantId, targetType: 'ApiKey' } }),
  ]);
  return { keys, activeApiKeyCount: tenant.activeApiKeyCount, audits };
}

export const DAY_MS = 24 * 3600_000;
