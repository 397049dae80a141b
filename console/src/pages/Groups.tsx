/** Authorization groups: the permissions a group grants, chosen from the catalogue with what each allows. */
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { Dialog } from '../components/Dialog';
import { FormAlert, SelectField, TextArea, TextField } from '../components/fields';
import { errorText, formErrors } from '../errors';
import { graphql } from '../gql';
import type { AuthorizationGroupType, ConsoleGroupsQuery } from '../gql/graphql';
import { useScope } from '../scope';

const GroupsQuery = graphql(`
  query ConsoleGroups($tenantId: ID) {
    authorizationGroups(tenantId: $tenantId) {
      id
      name
      description
      type
      permissions
    }
    permissions {
      name
      description
    }
  }
`);

const CreateGroupMutation = graphql(`
  mutation ConsoleCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
    }
  }
`);

const UpdateGroupMutation = graphql(`
  mutation ConsoleUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
      name
      description
      permissions
    }
  }
`);

const DeleteGroupMutation = graphql(`
  mutation ConsoleDeleteGroup($id: ID!) {
    deleteAuthorizationGroup(id: $id)
  }
`);

type Group = ConsoleGroupsQuery['authorizationGroups'][number];
type Permission = ConsoleGroupsQuery['permissions'][number];

const TYPE_LABEL: Record<AuthorizationGroupType, string> = { TENANT_API_KEY: 'Tenant API Key', USER: 'User' };

export function GroupsPage() {
  const scope = useScope();
  const context = useMemo(() => ({ additionalTypenames: ['AuthorizationGroup'] }), []);
  const [{ data, error }, refetch] = useQuery({ query: GroupsQuery, variables: { tenantId: scope.tenantId }, context });
  const [open, setOpen] = useState<{ group: Group | null } | null>(null);
  const [deleting, setDeleting] = useState<Group | null>(null);
  const [deleted, remove] = useMutation(DeleteGroupMutation);
  const canManage = scope.can('authorization_groups:manage');
  const reload = () => refetch({ requestPolicy: 'network-only' });

  return (
    <section aria-labelledby="groups-title">
      <div className="page-header">
        <h1 id="groups-title">Authorization groups</h1>
        {canManage ? (
          <button type="button" className="primary" onClick={() => setOpen({ group: null })}>
            Create group
          </button>
        ) : null}
      </div>
      <p className="hint">A group grants permissions to the API keys or users it is given to.</p>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Authorization groups</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Permissions</th>
              {canManage ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {(data?.authorizationGroups ?? []).map((g) => (
              <tr key={g.id}>
                <th scope="row">
                  {g.name}
                  {g.description ? <span className="sub">{g.description}</span> : null}
                </th>
                <td>{TYPE_LABEL[g.type]}</td>
                <td>
                  <ul className="tags">
                    {g.permissions.map((p) => (
                      <li key={p}>
                        <code>{p}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                {canManage ? (
                  <td className="row-actions">
                    <button type="button" aria-label={`Edit ${g.name}`} onClick={() => setOpen({ group: g })}>
                      Edit
                    </button>
                    <button type="button" className="danger" aria-label={`Delete ${g.name}`} onClick={() => setDeleting(g)}>
                      Delete
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open ? (
        <GroupDialog
          group={open.group}
          catalogue={data?.permissions ?? []}
          onClose={() => setOpen(null)}
          onSaved={() => {
            reload();
            setOpen(null);
          }}
        />
      ) : null}
      {deleting ? (
        <Dialog title="Delete authorization group" onClose={() => setDeleting(null)}>
          <p className="warning">Delete the group {deleting.name}? A group that active keys or users have cannot be deleted: give them another group, or revoke or deactivate them, first.</p>
          <FormAlert message={errorText(deleted.error)} />
          <div className="actions">
            <button type="button" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={async () => {
                const answer = await remove({ id: deleting.id });
                if (!answer.error) {
                  reload();
                  setDeleting(null);
                }
              }}
            >
              Delete
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}

function GroupDialog({ group, catalogue, onClose, onSaved }: { group: Group | null; catalogue: Permission[]; onClose: () => void; onSaved: () => void }) {
  const scope = useScope();
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [type, setType] = useState<AuthorizationGroupType>(group?.type ?? 'TENANT_API_KEY');
  const [permissions, setPermissions] = useState<string[]>(group?.permissions ?? []);
  const [apiError, setApiError] = useState<CombinedError | undefined>();
  const [, create] = useMutation(CreateGroupMutation);
  const [, update] = useMutation(UpdateGroupMutation);
  const errors = formErrors(apiError, ['name', 'description', 'type', 'permissions']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = group
      ? await update({ id: group.id, input: { name, description, permissions } })
      : await create({ input: { tenantId: scope.tenantId, name, description, type, permissions } });
    if (result.error) setApiError(result.error);
    else onSaved();
  }

  return (
    <Dialog title={group ? `Edit group ${group.name}` : 'Create authorization group'} onClose={onClose} className="wide">
      <form onSubmit={submit} noValidate aria-label="Authorization group">
        <FormAlert message={errors.general} />
        <TextField id="group-name" label="Name" required value={name} onChange={setName} error={errors.fields.name} />
        <TextArea id="group-description" label="Description" value={description} onChange={setDescription} error={errors.fields.description} />
        {group ? null : (
          <SelectField
            id="group-type"
            label="Type"
            value={type}
            onChange={(v) => setType(v as AuthorizationGroupType)}
            options={[
              { value: 'TENANT_API_KEY', label: 'Tenant API Key' },
              { value: 'USER', label: 'User' },
            ]}
            error={errors.fields.type}
          />
        )}
        <fieldset className="checklist" aria-describedby={errors.fields.permissions ? 'permissions-error' : undefined}>
          <legend>Permissions</legend>
          {catalogue.some((p) => !scope.can(p.name)) ? <p className="hint">Permissions you do not hold yourself cannot be granted; those already granted can be removed.</p> : null}
          {catalogue.map((p) => (
            <div key={p.name} className="permission">
              <input
                id={`perm-${p.name}`}
                type="checkbox"
                checked={permissions.includes(p.name)}
                // The API refuses to grant what the viewer lacks; one already granted may be taken away.
                disabled={!scope.can(p.name) && !permissions.includes(p.name)}
                aria-describedby={`perm-${p.name}-desc`}
                onChange={(e) => setPermissions(e.target.checked ? [...permissions, p.name] : permissions.filter((x) => x !== p.name))}
              />
              <label htmlFor={`perm-${p.name}`}>
                <code>{p.name}</code>
              </label>
              <span className="sub" id={`perm-${p.name}-desc`}>
                {p.description}
              </span>
            </div>
          ))}
          {errors.fields.permissions ? (
            <p className="field-error" id="permissions-error">
              {errors.fields.permissions}
            </p>
          ) : null}
        </fieldset>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
