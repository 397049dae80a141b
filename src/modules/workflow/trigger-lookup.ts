/**
 * The read side of `triggerWorkflow`, the write integrations make at volume: project and
 * workflow in one prepared statement outside Prisma, then the same access checks
 * `findAccessibleProject` makes (another tenant's project NOT_FOUND, outside a key's
 * organization or selection FORBIDDEN, outside X-Workspace-Id FORBIDDEN), then the
 * workflow (NOT_FOUND unless it belongs to that project).
 *
 * Why not Prisma: the two `findFirst`s it replaces (project, then workflow) were most of a
 * durable trigger's CPU (~3 ms per request at 50 connections, bench/RESULTS.md): each is
 * compiled by Prisma's query engine and, on SQLite, prepared afresh by libsql. One prepared
 * statement costs a few hundredths of that, as for key-lookup.ts and session-lookup.ts.
 *
 * SQLite: its own read-only use of a libsql connection, the statement prepared once (a reader
 * in WAL mode never waits for the group commit's writer). PostgreSQL: a small `pg` pool with
 * a named prepared statement.
 */
import type Database from 'libsql';
import pg from 'pg';
import { assertWithinScope } from '../../auth/access.js';
import type { AuthenticatedPrincipal } from '../../auth/principal.js';
import { getConfig } from '../../config.js';
import { isSqliteUrl } from '../../db.js';
import { openSqlite } from '../../db/sqlite.js';
import { forbidden, notFound } from '../../errors.js';
import { workspaceContext } from '../workspace/workspace.service.js';

/** A project, with the workflow asked for when it belongs to that project. */
export type TriggerTargetRow = {
  id: string;
  tenantId: string;
  organizationId: string;
  workspaceId: string;
  /** Null when no workflow with that id belongs to the project. */
  workflowId: string | null;
  workflowName: string | null;
  /** The webhook endpoint the workflow routes its runs to, if any. */
  workflowEndpointId: string | null;
};

export type TriggerProject = Omit<TriggerTargetRow, 'workflowId' | 'workflowName' | 'workflowEndpointId'>;
export type TriggerWorkflow = { id: string; name: string; endpointId: string | null };

export type TriggerLookup = {
  /** The project by id with the workflow's id if it is one of the project's, or null. Throws when the database cannot answer. */
  find(projectId: string, workflowId: string): Promise<TriggerTargetRow | null>;
  close(): Promise<void>;
};

/** The workflow as a left join on its primary key (and its project): one index probe, then the project. */
const SQLITE_TARGET = `SELECT p."id", p."tenantId", p."organizationId", p."workspaceId",
  w."id" AS "workflowId", w."name" AS "workflowName", w."endpointId" AS "workflowEndpointId"
  FROM "Project" p LEFT JOIN "Workflow" w ON w."id" = ? AND w."projectId" = p."id"
  WHERE p."id" = ?`;
const PG_TARGET = `SELECT p."id", p."tenantId", p."organizationId", p."workspaceId",
  w."id" AS "workflowId", w."name" AS "workflowName", w."endpointId" AS "workflowEndpointId"
  FROM "Project" p LEFT JOIN "Workflow" w ON w."id" = $1 AND w."projectId" = p."id"
  WHERE p."id" = $2`;

export function createTriggerLookup(databaseUrl: string): TriggerLookup {
  return isSqliteUrl(databaseUrl) ? sqliteLookup(databaseUrl) : postgresLookup(databaseUrl);
}

/** The process's lookup, on the configured database (like `db` in db.ts). */
export const triggerLookup: TriggerLookup = createTriggerLookup(getConfig().databaseUrl);

/**
 * The project and workflow a trigger acts on, checked as `findAccessibleProject` and the
 * workflow lookup checked them, in the same order (so the same errors).
 */
export async function findTriggerTarget(
  actor: AuthenticatedPrincipal,
  input: { projectId: string; workflowId: string },
  contextWorkspaceId: string | null,
  lookup: TriggerLookup = triggerLookup,
): Promise<{ project: TriggerProject; workflow: TriggerWorkflow }> {
  const row = await lookup.find(input.projectId, input.workflowId);
  // tenantReach: another tenant's project reads as absent, unless the actor acts across tenants.
  if (!row || (!actor.crossTenant && row.tenantId !== actor.tenantId)) throw notFound('Project');
  const { workflowId, workflowName, workflowEndpointId, ...project } = row;
  assertWithinScope(actor, { what: 'Project', tenantId: project.tenantId, organizationId: project.organizationId, projectIds: [project.id] });
  // X-Workspace-Id is rare on this path: checked through the one shared function, Prisma and all.
  if (contextWorkspaceId) {
    const context = await workspaceContext(actor, contextWorkspaceId);
    if (context && context.id !== project.workspaceId) throw forbidden('The project is not in the workspace named by X-Workspace-Id.');
  }
  if (!workflowId) throw notFound('Workflow');
  return { project, workflow: { id: workflowId, name: workflowName ?? '', endpointId: workflowEndpointId } };
}

function sqliteLookup(url: string): TriggerLookup {
  let prepared: { connection: Database.Database; target: Database.Statement } | null = null;

  // Opened on first use: the server creates the app before it applies migrations.
  function statement() {
    if (!prepared) {
      // Short busy timeout, as for keys: libsql is synchronous (see key-lookup.ts).
      const connection = openSqlite(url, 250);
      try {
        prepared = { connection, target: connection.prepare(SQLITE_TARGET) };
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return prepared.target;
  }

  return {
    async find(projectId, workflowId) {
      return (statement().get(workflowId, projectId) as TriggerTargetRow | undefined) ?? null;
    },
    async close() {
      prepared?.connection.close();
      prepared = null;
    },
  };
}

function postgresLookup(connectionString: string): TriggerLookup {
  const pool = new pg.Pool({ connectionString, max: 4, application_name: 'keygate-trigger-lookup' });
  // An idle connection that dies emits here; without a handler it would crash the process.
  pool.on('error', () => {});
  return {
    async find(projectId, workflowId) {
      const { rows } = await pool.query<TriggerTargetRow>({ name: 'keygate_trigger_target', text: PG_TARGET, values: [workflowId, projectId] });
      return rows[0] ?? null;
    },
    close: () => pool.end(),
  };
}
