/** Organizations, their workspaces and their projects: lists, and a create form for each level. */
import { useState, type FormEvent, type ReactNode } from 'react';
import { Dialog } from '../components/Dialog';
import { useMutation, type CombinedError } from 'urql';
import { useAllNodes, type AllNodes } from '../all-nodes';
import { FormAlert, SelectField, TextField, useListedChoice } from '../components/fields';
import { errorText, formErrors } from '../errors';
import { date } from '../format';
import { graphql } from '../gql';
import { useScope } from '../scope';

const OrganizationsQuery = graphql(`
  query ConsoleOrganizations($tenantId: ID, $after: String) {
    organizations(tenantId: $tenantId, first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          slug
          createdAt
        }
      }
    }
  }
`);

const WorkspacesQuery = graphql(`
  query ConsoleWorkspaces($tenantId: ID, $after: String) {
    workspaces(tenantId: $tenantId, first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          slug
          organization {
            id
            name
          }
        }
      }
    }
  }
`);

const ProjectsQuery = graphql(`
  query ConsoleProjects($tenantId: ID, $after: String) {
    projects(tenantId: $tenantId, first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          slug
          workspace {
            id
            name
          }
        }
      }
    }
  }
`);

const CreateOrganization = graphql(`
  mutation ConsoleCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation ConsoleCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const CreateProject = graphql(`
  mutation ConsoleCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const DeleteOrganization = graphql(`
  mutation ConsoleDeleteOrganization($id: ID!) {
    deleteOrganization(id: $id)
  }
`);

const DeleteWorkspace = graphql(`
  mutation ConsoleDeleteWorkspace($id: ID!) {
    deleteWorkspace(id: $id)
  }
`);

const DeleteProject = graphql(`
  mutation ConsoleDeleteProject($id: ID!) {
    deleteProject(id: $id)
  }
`);

type Deleting = { kind: 'organization' | 'workspace' | 'project'; id: string; name: string };

const DELETE_WARNING: Record<Deleting['kind'], string> = {
  organization: 'Its workspaces and projects go with it (with their workflows, runs and deliveries). An organization with active keys bound to it is not deleted: revoke them first.',
  workspace: 'Its projects go with it, with their workflows, runs and deliveries. Keys that selected those projects lose them and never gain access by it.',
  project: 'Its workflows, runs and deliveries go with it. Keys that selected it lose it and never gain access by it.',
};

export function StructurePage() {
  const scope = useScope();
  // Whole lists, not a first page: the create forms offer every organization and workspace.
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const variables = { tenantId: scope.tenantId };
  const organizationList = useAllNodes(OrganizationsQuery, variables, (d) => d.organizations, version);
  const workspaceList = useAllNodes(WorkspacesQuery, variables, (d) => d.workspaces, version);
  const projectList = useAllNodes(ProjectsQuery, variables, (d) => d.projects, version);
  const error = organizationList.error ?? workspaceList.error ?? projectList.error;
  const organizations = organizationList.nodes;
  const workspaces = workspaceList.nodes;
  const projects = projectList.nodes;
  const isTenantAdmin = scope.role === 'TENANT_ADMIN' || scope.role === 'PLATFORM_ADMIN';
  const [, createOrganization] = useMutation(CreateOrganization);
  const [, createWorkspace] = useMutation(CreateWorkspace);
  const [, createProject] = useMutation(CreateProject);
  const [deleting, setDeleting] = useState<Deleting | null>(null);
  const canDelete = { organization: isTenantAdmin, workspace: scope.can('workspaces:manage'), project: scope.can('projects:manage') };
  const deleteButton = (kind: Deleting['kind'], id: string, name: string) =>
    canDelete[kind] ? (
      <button type="button" className="danger" aria-label={`Delete ${name}`} onClick={() => setDeleting({ kind, id, name })}>
        Delete
      </button>
    ) : null;

  return (
    <section aria-labelledby="structure-title">
      <h1 id="structure-title">Organizations, workspaces and projects</h1>
      {error ? <p role="alert">{errorText(error)}</p> : null}

      <h2>Organizations ({countOf(organizationList)})</h2>
      <SimpleTable caption="Organizations" headers={['Name', 'Slug', 'Created']} rows={organizations.map((o) => [o.name, o.slug, date(o.createdAt)])} actions={organizations.map((o) => deleteButton('organization', o.id, o.name))} />
      {isTenantAdmin ? (
        <CreateForm
          id="org"
          title="New organization"
          onCreate={async (name) => (await createOrganization({ input: { name, tenantId: scope.tenantId } })).error}
          onCreated={reload}
        />
      ) : null}

      <h2>Workspaces ({countOf(workspaceList)})</h2>
      <SimpleTable caption="Workspaces" headers={['Name', 'Slug', 'Organization']} rows={workspaces.map((w) => [w.name, w.slug, w.organization.name])} actions={workspaces.map((w) => deleteButton('workspace', w.id, w.name))} />
      {scope.can('workspaces:manage') && organizations.length > 0 ? (
        <CreateForm
          id="workspace"
          title="New workspace"
          parentLabel="Organization"
          parents={organizations.map((o) => ({ value: o.id, label: o.name }))}
          onCreate={async (name, organizationId) => (await createWorkspace({ input: { name, organizationId } })).error}
          onCreated={reload}
        />
      ) : null}

      <h2>Projects ({countOf(projectList)})</h2>
      <SimpleTable caption="Projects" headers={['Name', 'Slug', 'Workspace']} rows={projects.map((p) => [p.name, p.slug, p.workspace.name])} actions={projects.map((p) => deleteButton('project', p.id, p.name))} />
      {scope.can('projects:manage') && workspaces.length > 0 ? (
        <CreateForm
          id="project"
          title="New project"
          parentLabel="Workspace"
          parents={workspaces.map((w) => ({ value: w.id, label: `${w.name} (${w.organization.name})` }))}
          onCreate={async (name, workspaceId) => (await createProject({ input: { name, workspaceId } })).error}
          onCreated={reload}
        />
      ) : null}
      {deleting ? (
        <DeleteDialog
          deleting={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            reload();
            setDeleting(null);
          }}
        />
      ) : null}
    </section>
  );
}

/** "105"; "…" while the first answer is awaited; "100+" when the list stopped early (its page limit, an error). */
function countOf(list: AllNodes<unknown>): string {
  if (list.fetching && !list.complete && list.nodes.length === 0) return '…';
  return `${list.nodes.length}${list.complete || list.fetching ? '' : '+'}`;
}

function DeleteDialog({ deleting, onClose, onDeleted }: { deleting: Deleting; onClose: () => void; onDeleted: () => void }) {
  const [organization, deleteOrganization] = useMutation(DeleteOrganization);
  const [workspace, deleteWorkspace] = useMutation(DeleteWorkspace);
  const [project, deleteProject] = useMutation(DeleteProject);
  const remove = { organization: deleteOrganization, workspace: deleteWorkspace, project: deleteProject }[deleting.kind];
  const error = organization.error ?? workspace.error ?? project.error;
  async function confirm() {
    const answer = await remove({ id: deleting.id });
    if (!answer.error) onDeleted();
  }
  return (
    <Dialog title={`Delete ${deleting.kind} ${deleting.name}`} onClose={onClose}>
      <p className="warning">
        Are you sure you want to delete the {deleting.kind} {deleting.name}? This cannot be undone. {DELETE_WARNING[deleting.kind]}
      </p>
      <FormAlert message={errorText(error)} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={confirm}>
          Delete
        </button>
      </div>
    </Dialog>
  );
}

export function SimpleTable({ caption, headers, rows, actions }: { caption: string; headers: string[]; rows: string[][]; actions?: ReactNode[] }) {
  const withActions = actions?.some(Boolean) ?? false;
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {headers.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
            {withActions ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) => (j === 0 ? <th scope="row" key={j}>{cell}</th> : <td key={j}>{cell}</td>))}
              {withActions ? <td className="row-actions">{actions?.[i]}</td> : null}
            </tr>
          ))}
          {rows.length === 0 ? (
            <tr>
              <td colSpan={headers.length + (withActions ? 1 : 0)}>None yet.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

function CreateForm(props: {
  id: string;
  title: string;
  parentLabel?: string;
  parents?: { value: string; label: string }[];
  onCreate: (name: string, parentId: string) => Promise<CombinedError | undefined>;
  onCreated: () => void;
}) {
  const { id, title, parentLabel, parents, onCreate, onCreated } = props;
  const [name, setName] = useState('');
  const [parent, setParent] = useListedChoice(parents?.map((option) => option.value) ?? []);
  const [error, setError] = useState<CombinedError | undefined>();
  const errors = formErrors(error, ['name', 'slug']);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const failure = await onCreate(name, parent);
    setError(failure);
    if (!failure) {
      setName('');
      onCreated();
    }
  }
  return (
    <form className="inline-form" onSubmit={submit} aria-label={title} noValidate>
      <FormAlert message={errors.general} />
      {parents && parentLabel ? <SelectField id={`${id}-parent`} label={parentLabel} value={parent} onChange={setParent} options={parents} /> : null}
      <TextField id={`${id}-name`} label={`${title}: name`} required value={name} onChange={setName} error={errors.fields.name ?? errors.fields.slug} />
      <button type="submit">Create</button>
    </form>
  );
}
