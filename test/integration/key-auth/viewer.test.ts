/**
 * `viewer` for an API key (product.md §3): who is calling, in which tenant, bound to which
 * organization, with which permissions and project access; and never the secret.
 */
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { digestSecret } from '../../../src/auth/credentials.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { graphql } from '../../gql/index.js';
import { app, logLines, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';

const Viewer = graphql(`
  query KeyAuthViewer {
    viewer {
      kind
      crossTenant
      permissions
      projectAccess
      tenant {
        id
      }
      organization {
        id
      }
      projects {
        id
      }
      user {
        id
      }
      apiKey {
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
      }
    }
  }
`);

describe('viewer with an API key', () => {
  it('an organization-bound SELECTED key: kind, tenant, organization, permissions, project access and projects', async () => {
    const seed = await seedTenant();
    const group = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Deliverers',
      type: 'TENANT_API_KEY',
      permissions: ['projects:read', 'data:deliver'],
    });
    const second = await createProject(seed.platform.principal, { workspaceId: seed.workspace.id, name: 'Second project' }, null);
    const key = await seed.createKey({
      authorizationGroupId: group.id,
      organizationId: seed.organization.id,
      projectAccess: 'SELECTED',
      projectIds: [seed.project.id, second.id],
    });

    const { viewer } = await ok(Viewer, {}, { apiKey: key.secret });

    expect(viewer).toMatchObject({
      kind: 'API_KEY',
      crossTenant: false,
      permissions: ['data:deliver', 'projects:read'],
      projectAccess: 'SELECTED',
      tenant: { id: seed.tenant.id },
      organization: { id: seed.organization.id },
      user: null,
      apiKey: { id: key.id, prefix: key.prefix, role: 'API_USER', status: 'ACTIVE', authorizationGroup: { id: group.id } },
    });
    expect(viewer.projects.map((p) => p.id).sort()).toEqual([seed.project.id, second.id].sort());
  });

  it('a tenant-wide ALL key: no organization, ALL, no project list', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();

    const { viewer } = await ok(Viewer, {}, { apiKey: key.secret });

    expect(viewer).toMatchObject({
      kind: 'API_KEY',
      projectAccess: 'ALL',
      tenant: { id: seed.tenant.id },
      organization: null,
      projects: [],
      permissions: ['api_keys:read', 'data:deliver', 'projects:read', 'workflows:trigger', 'workspaces:read'],
    });
  });

  it('the response never contains the secret or its digest, and neither does the log', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ organizationId: seed.organization.id, projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const logStart = logLines.length;

    // The raw body, not the parsed one: nothing may hide in it.
    const response = await app.yoga.fetch(
      'http://keygate.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
        body: JSON.stringify({ query: print(Viewer) }),
      },
      { req: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(body).toContain(key.id);
    expect(body).toContain(key.prefix);
    expect(body).not.toContain(key.secret);
    expect(body).not.toContain(digestSecret(key.secret));
    const log = logLines.slice(logStart).join('\n');
    expect(log).not.toContain(key.secret);
    expect(log).not.toContain(digestSecret(key.secret));
  });
});
