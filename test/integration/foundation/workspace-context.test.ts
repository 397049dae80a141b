/**
 * X-Workspace-Id: operations that act inside a workspace use it, and a workspace the caller
 * cannot reach is FORBIDDEN (existing in another tenant or not at all, the same answer).
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';

const Projects = graphql(`
  query WorkspaceHeaderProjects {
    projects {
      totalCount
      edges {
        node {
          id
          workspace {
            id
          }
        }
      }
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation WorkspaceHeaderCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const CreateProject = graphql(`
  mutation WorkspaceHeaderCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
      workspace {
        id
      }
    }
  }
`);

/** A second workspace with its own project, next to the seeded ones. */
async function secondWorkspace(seed: Seed) {
  const token = seed.admin.token;
  const { createWorkspace } = await ok(CreateWorkspace, { input: { organizationId: seed.organization.id, name: 'Second workspace' } }, { token });
  const { createProject } = await ok(CreateProject, { input: { workspaceId: createWorkspace.id, name: 'Second project' } }, { token });
  return { workspaceId: createWorkspace.id, projectId: createProject.id };
}

describe('X-Workspace-Id', () => {
  it('`projects` with the header lists only that workspace’s projects', async () => {
    const seed = await seedTenant();
    const second = await secondWorkspace(seed);

    const all = await ok(Projects, {}, { token: seed.member.token });
    const inFirst = await ok(Projects, {}, { token: seed.member.token, workspaceId: seed.workspace.id });
    const inSecond = await ok(Projects, {}, { token: seed.member.token, workspaceId: second.workspaceId });

    expect(all.projects.edges.map((e) => e.node.id).sort()).toEqual([seed.project.id, second.projectId].sort());
    expect(inFirst.projects.edges.map((e) => e.node)).toEqual([{ id: seed.project.id, workspace: { id: seed.workspace.id } }]);
    expect(inFirst.projects.totalCount).toBe(1);
    expect(inSecond.projects.edges.map((e) => e.node)).toEqual([{ id: second.projectId, workspace: { id: second.workspaceId } }]);
  });

  it('`projects` with a header naming another tenant’s workspace → FORBIDDEN, as for a workspace that does not exist', async () => {
    const [a, b] = await Promise.all([seedTenant(), seedTenant()]);

    const other = await execute(Projects, {}, { token: a.admin.token, workspaceId: b.workspace.id });
    const nowhere = await execute(Projects, {}, { token: a.admin.token, workspaceId: unique('no-workspace') });

    expect(errorOf(other).code).toBe('FORBIDDEN');
    expect(other.data ?? null).toBeNull();
    expect(errorOf(nowhere)).toEqual(errorOf(other));
  });

  it('createProject without workspaceId creates the project in the header’s workspace', async () => {
    const seed = await seedTenant();
    const second = await secondWorkspace(seed);

    const { createProject } = await ok(
      CreateProject,
      { input: { name: 'From the header' } },
      { token: seed.admin.token, workspaceId: second.workspaceId },
    );

    expect(createProject.workspace.id).toBe(second.workspaceId);
    const row = await db.project.findUniqueOrThrow({ where: { id: createProject.id } });
    expect(row).toMatchObject({ workspaceId: second.workspaceId, tenantId: seed.tenant.id, organizationId: seed.organization.id });
  });

  it('createProject with a header naming another tenant’s workspace → FORBIDDEN, nothing written in either tenant', async () => {
    const [a, b] = await Promise.all([seedTenant(), seedTenant()]);
    const count = () => db.project.count({ where: { tenantId: { in: [a.tenant.id, b.tenant.id] } } });
    const before = await count();

    const result = await execute(CreateProject, { input: { name: 'Through the header' } }, { token: a.admin.token, workspaceId: b.workspace.id });

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(await count()).toBe(before);
  });

  it('createProject naming a workspace other than the header’s → FORBIDDEN, nothing written', async () => {
    const seed = await seedTenant();
    const second = await secondWorkspace(seed);
    const before = await db.project.count({ where: { tenantId: seed.tenant.id } });

    const result = await execute(
      CreateProject,
      { input: { workspaceId: seed.workspace.id, name: 'Mismatch' } },
      { token: seed.admin.token, workspaceId: second.workspaceId },
    );

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(await db.project.count({ where: { tenantId: seed.tenant.id } })).toBe(before);
  });
});
