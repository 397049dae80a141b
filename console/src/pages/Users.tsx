/** Users of the tenant: list, create (with a role and an optional group), deactivate. */
import { useMemo, useState, type FormEvent } from 'react';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { Badge } from '../components/Badge';
import { FormAlert, SelectField, TextField } from '../components/fields';
import { errorText, formErrors } from '../errors';
import { date, enumLabel } from '../format';
import { graphql } from '../gql';
import type { ConsoleUsersQuery, UserRole } from '../gql/graphql';
import { useScope, type Scope } from '../scope';

const UsersQuery = graphql(`
  query ConsoleUsers($tenantId: ID, $after: String) {
    users(tenantId: $tenantId, first: 100, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          email
          role
          createdAt
          deactivatedAt
          authorizationGroup {
            id
            name
            permissions
          }
        }
      }
    }
    authorizationGroups(tenantId: $tenantId, type: USER) {
      id
      name
      permissions
    }
  }
`);

const CreateUser = graphql(`
  mutation ConsoleCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

const UpdateUser = graphql(`
  mutation ConsoleUpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      id
      role
      authorizationGroup {
        id
        name
      }
    }
  }
`);

const DeactivateUser = graphql(`
  mutation ConsoleDeactivateUser($id: ID!) {
    deactivateUser(id: $id) {
      id
      deactivatedAt
    }
  }
`);

export function UsersPage() {
  const scope = useScope();
  // The group choices come from the Groups page: refreshed by a new group, and on each visit.
  const context = useMemo(() => ({ additionalTypenames: ['User', 'AuthorizationGroup'] }), []);
  // The cursor of each page shown so far: the last one is the page on screen.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error }, refetch] = useQuery({ query: UsersQuery, variables: { tenantId: scope.tenantId, after: cursors[cursors.length - 1] ?? null }, context, requestPolicy: 'cache-and-network' });
  const [editing, setEditing] = useState<User | null>(null);
  const [deactivating, setDeactivating] = useState<User | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const users = data?.users.edges.map((e) => e.node) ?? [];
  // Only groups the viewer could give: the API refuses the others.
  const grantable = (data?.authorizationGroups ?? []).filter((g) => scope.canGrant(g.permissions));

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Authorization group</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.email}</th>
                <td>{enumLabel(u.role)}</td>
                <td>{u.authorizationGroup?.name ?? '—'}</td>
                <td>{u.deactivatedAt ? <Badge tone="muted">Deactivated</Badge> : <Badge tone="ok">Active</Badge>}</td>
                <td>{date(u.createdAt)}</td>
                <td className="row-actions">
                  {u.deactivatedAt || !mayManage(u, scope) ? null : (
                    <button type="button" aria-label={`Edit ${u.email}`} onClick={() => setEditing(u)}>
                      Edit
                    </button>
                  )}
                  {u.deactivatedAt || u.id === scope.userId || !mayManage(u, scope) ? null : (
                    <button type="button" className="danger" aria-label={`Deactivate ${u.email}`} onClick={() => setDeactivating(u)}>
                      Deactivate
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <span>{data ? `${data.users.totalCount} user(s)` : ''}</span>
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!data?.users.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, data?.users.pageInfo.endCursor ?? null])}>
          Next page
        </button>
      </div>
      <NewUserForm groups={grantable} onCreated={reload} />
      {editing ? (
        <EditUserDialog
          user={editing}
          groups={grantable}
          onClose={() => setEditing(null)}
          onSaved={() => {
            reload();
            setEditing(null);
          }}
        />
      ) : null}
      {deactivating ? (
        <DeactivateDialog
          user={deactivating}
          onClose={() => setDeactivating(null)}
          onDeactivated={() => {
            reload();
            setDeactivating(null);
          }}
        />
      ) : null}
    </section>
  );
}

function DeactivateDialog({ user, onClose, onDeactivated }: { user: User; onClose: () => void; onDeactivated: () => void }) {
  const [result, deactivate] = useMutation(DeactivateUser);
  return (
    <ConfirmDialog
      title={`Deactivate ${user.email}`}
      formLabel="Deactivate user"
      warning={`${user.email} is signed out at once and can no longer sign in. The user, and what they did, stays listed.`}
      confirmLabel="Deactivate"
      error={errorText(result.error)}
      busy={result.fetching}
      onConfirm={async () => {
        if (!(await deactivate({ id: user.id })).error) onDeactivated();
      }}
      onClose={onClose}
    />
  );
}

type User = ConsoleUsersQuery['users']['edges'][number]['node'];

/** The roles the viewer may give, as the API rules: administrators are made by administrators. */
function assignableRoles(scope: Scope): UserRole[] {
  if (!scope.isAdmin) return ['MEMBER'];
  return scope.role === 'PLATFORM_ADMIN' && scope.tenant?.isSystem ? ['MEMBER', 'TENANT_ADMIN', 'PLATFORM_ADMIN'] : ['MEMBER', 'TENANT_ADMIN'];
}

/**
 * Whether the viewer may change or deactivate `user`, as the API rules: an administrator
 * only by an administrator, and nobody whose group holds more than the viewer does.
 */
function mayManage(user: User, scope: Scope): boolean {
  if (user.role === 'PLATFORM_ADMIN') return scope.role === 'PLATFORM_ADMIN';
  if (scope.isAdmin) return true;
  return user.role === 'MEMBER' && scope.canGrant(user.authorizationGroup?.permissions ?? []);
}

function EditUserDialog({ user, groups, onClose, onSaved }: { user: User; groups: { id: string; name: string }[]; onClose: () => void; onSaved: () => void }) {
  const scope = useScope();
  const [role, setRole] = useState<UserRole>(user.role);
  const [group, setGroup] = useState(user.authorizationGroup?.id ?? '');
  const [error, setError] = useState<CombinedError | undefined>();
  const [, update] = useMutation(UpdateUser);
  const errors = formErrors(error, ['role', 'authorizationGroupId']);
  const roles = assignableRoles(scope);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await update({ id: user.id, input: { role, authorizationGroupId: group || null } });
    if (result.error) setError(result.error);
    else onSaved();
  }
  return (
    <Dialog title={`Edit user ${user.email}`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Edit user" noValidate>
        <FormAlert message={errors.general} />
        <SelectField id="edit-user-role" label="Role" value={role} onChange={(v) => setRole(v as UserRole)} options={(roles.includes(user.role) ? roles : [user.role, ...roles]).map((r) => ({ value: r, label: enumLabel(r) }))} error={errors.fields.role} />
        <SelectField id="edit-user-group" label="Authorization group" value={group} onChange={setGroup} placeholder="None" options={groups.map((g) => ({ value: g.id, label: g.name }))} error={errors.fields.authorizationGroupId} />
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

function NewUserForm({ groups, onCreated }: { groups: { id: string; name: string }[]; onCreated: () => void }) {
  const scope = useScope();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<UserRole>('MEMBER');
  const [group, setGroup] = useState('');
  const [error, setError] = useState<CombinedError | undefined>();
  const [, create] = useMutation(CreateUser);
  const errors = formErrors(error, ['email', 'password', 'role', 'authorizationGroupId']);
  const roles = assignableRoles(scope);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await create({ input: { tenantId: scope.tenantId, email, password, role, authorizationGroupId: group || null } });
    setError(result.error);
    if (!result.error) {
      setEmail('');
      setPassword('');
      onCreated();
    }
  }
  return (
    <form className="inline-form" onSubmit={submit} aria-label="New user" noValidate>
      <h2>New user</h2>
      <FormAlert message={errors.general} />
      <TextField id="user-email" label="Email" type="email" required value={email} onChange={setEmail} error={errors.fields.email} />
      <TextField id="user-password" label="Password" type="password" autoComplete="new-password" required value={password} onChange={setPassword} error={errors.fields.password} hint="At least 12 characters." />
      <SelectField id="user-role" label="Role" value={role} onChange={(v) => setRole(v as UserRole)} options={roles.map((r) => ({ value: r, label: enumLabel(r) }))} error={errors.fields.role} />
      <SelectField id="user-group" label="Authorization group" value={group} onChange={setGroup} placeholder="None" options={groups.map((g) => ({ value: g.id, label: g.name }))} error={errors.fields.authorizationGroupId} />
      <button type="submit">Create user</button>
    </form>
  );
}
