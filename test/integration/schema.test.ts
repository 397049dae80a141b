import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sortedSchema } from '../../src/schema/index.js';

describe('schema.graphql', () => {
  it('is in step with the Pothos schema (run `npm run schema` after changing it)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSchema(sortedSchema) + '\n');
  });

  it('names every fixed operation of the product contract', () => {
    const queries = Object.keys(sortedSchema.getQueryType()!.getFields());
    const mutations = Object.keys(sortedSchema.getMutationType()!.getFields());
    expect(queries).toEqual(
      expect.arrayContaining(['viewer', 'tenants', 'tenant', 'organizations', 'workspaces', 'projects', 'authorizationGroups', 'apiKeys', 'apiKey', 'apiKeyUsage', 'auditEvents', 'workflowRuns']),
    );
    expect(mutations).toEqual(
      expect.arrayContaining([
        'signIn', 'signOut', 'createTenant', 'createUser', 'createOrganization', 'createWorkspace', 'updateWorkspace',
        'deleteWorkspace', 'createProject', 'createAuthorizationGroup', 'updateAuthorizationGroup', 'deleteAuthorizationGroup',
        'createApiKey', 'updateApiKey', 'rotateApiKey', 'revokeApiKey', 'createWorkflow', 'triggerWorkflow', 'deliverData',
      ]),
    );
  });

  it('never exposes a secret or a digest on ApiKey', () => {
    const fields = Object.keys((sortedSchema.getType('ApiKey') as import('graphql').GraphQLObjectType).getFields());
    expect(fields).not.toContain('secret');
    expect(fields.filter((f) => /digest|hash/i.test(f))).toEqual([]);
  });
});
