/**
 * The generate and edit forms (one component: the seeds' edit form is the generate form
 * without the expiry). Client checks mirror the API's rules for instant feedback; the API's
 * own errors (`extensions.field`) land next to the same fields.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { useAllNodes } from '../../all-nodes';
import { OrganizationChoicesQuery, ProjectChoicesQuery } from '../../choices';
import { Dialog } from '../../components/Dialog';
import { FormAlert, SelectField, TextArea, TextField } from '../../components/fields';
import { formErrors } from '../../errors';
import type { ApiKeyRole, ExpiresIn, ProjectAccess } from '../../gql/graphql';
import { useScope } from '../../scope';
import { CreateKeyMutation, KeyFormGroupsQuery, UpdateKeyMutation } from './queries';
import type { Key } from './types';

type Expiry = ExpiresIn | 'DATE';

const EXPIRY_OPTIONS: { value: Expiry; label: string }[] = [
  { value: 'NEVER', label: 'Never expires' },
  { value: 'DAYS_7', label: 'In 7 days' },
  { value: 'DAYS_30', label: 'In 30 days' },
  { value: 'DAYS_60', label: 'In 60 days' },
  { value: 'DAYS_90', label: 'In 90 days' },
  { value: 'DATE', label: 'On a date…' },
];

type Values = {
  name: string;
  description: string;
  authorizationGroupId: string;
  expiry: Expiry;
  expiresAt: string;
  ipAllowlist: string;
  role: ApiKeyRole;
  organizationId: string;
  projectAccess: ProjectAccess;
  projectIds: string[];
};

function initialValues(key: Key | null): Values {
  return {
    name: key?.name ?? '',
    description: key?.description ?? '',
    authorizationGroupId: key?.authorizationGroup.id ?? '',
    expiry: 'NEVER',
    expiresAt: '',
    ipAllowlist: key?.ipAllowlist.join('\n') ?? '',
    role: key?.role ?? 'API_USER',
    organizationId: key?.organization?.id ?? '',
    projectAccess: key?.projectAccess ?? 'ALL',
    projectIds: key?.projects.map((p) => p.id) ?? [],
  };
}

/** The seeds' field rules, checked before anything is sent. */
function validate(values: Values, creating: boolean): Record<string, string> {
  const errors: Record<string, string> = {};
  const name = values.name.trim();
  const characters = [...name].length; // code points, as the API counts them
  if (characters < 2 || characters > 200) errors.name = 'Key Name must be 2–200 characters.';
  if (values.description.length > 1000) errors.description = 'Description must be at most 1000 characters.';
  if (!values.authorizationGroupId) errors.authorizationGroupId = 'Select an authorization group.';
  if (creating && values.expiry === 'DATE') {
    if (!values.expiresAt) errors.expiresAt = 'Choose the expiration date.';
    else if (Date.parse(endOfDay(values.expiresAt)) <= Date.now()) errors.expiresAt = 'The expiration date must be in the future.';
  }
  if (creating && values.projectAccess === 'SELECTED' && values.projectIds.length === 0) errors.projectIds = 'Select at least one project.';
  return errors;
}

/** A key given a date works through that whole day (UTC). */
function endOfDay(day: string): string {
  return `${day}T23:59:59Z`;
}

/** The inputs the form has, by the API's field names: an error naming another goes on top. */
const KEY_FORM_FIELDS = ['name', 'description', 'authorizationGroupId', 'role', 'expiresAt', 'expiresIn', 'ipAllowlist', 'organizationId', 'projectAccess', 'projectIds'];

function allowlist(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export function KeyFormDialog({ editing, onClose, onCreated, onSaved }: { editing: Key | null; onClose: () => void; onCreated: (secret: string, name: string) => void; onSaved: () => void }) {
  const scope = useScope();
  const creating = editing === null;
  const [values, setValues] = useState(() => initialValues(editing));
  const [checked, setChecked] = useState<Record<string, string>>({});
  // Groups, organizations and projects are made on other pages: asked again each time the form opens.
  const [{ data: options }] = useQuery({ query: KeyFormGroupsQuery, variables: { tenantId: scope.tenantId }, requestPolicy: 'cache-and-network' });
  const allOrganizations = useAllNodes(OrganizationChoicesQuery, { tenantId: scope.tenantId }, (d) => d.organizations);
  const allProjects = useAllNodes(ProjectChoicesQuery, { tenantId: scope.tenantId }, (d) => d.projects);
  const [created, create] = useMutation(CreateKeyMutation);
  const [updated, update] = useMutation(UpdateKeyMutation);
  const [apiError, setApiError] = useState<CombinedError | undefined>();
  const api = formErrors(apiError, KEY_FORM_FIELDS);
  const error = (field: string) => checked[field] ?? api.fields[field];
  const set = <K extends keyof Values>(field: K) => (value: Values[K]) => setValues((v) => ({ ...v, [field]: value }));
  // Only groups the viewer could give: creating or editing a key hands over its group's power.
  const groups = (options?.authorizationGroups ?? []).filter((g) => scope.canGrant(g.permissions));
  const organizations = allOrganizations.nodes;
  // A key bound to an organization may select only that organization's projects.
  const projects = allProjects.nodes.filter((p) => !values.organizationId || p.organization.id === values.organizationId);
  const adminRoleAllowed = creating && scope.tenant?.isSystem === true && scope.role === 'PLATFORM_ADMIN';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problems = validate(values, creating);
    setChecked(problems);
    setApiError(undefined);
    if (Object.keys(problems).length) {
      focusFirstInvalid(Object.keys(problems));
      return;
    }
    const common = {
      name: values.name.trim(),
      description: values.description,
      authorizationGroupId: values.authorizationGroupId,
      ipAllowlist: allowlist(values.ipAllowlist),
    };
    if (creating) {
      const result = await create({
        input: {
          ...common,
          tenantId: scope.tenantId,
          ...(values.expiry === 'DATE' ? { expiresAt: endOfDay(values.expiresAt) } : { expiresIn: values.expiry }),
          ...(adminRoleAllowed ? { role: values.role } : {}),
          ...(values.organizationId ? { organizationId: values.organizationId } : {}),
          projectAccess: values.projectAccess,
          ...(values.projectAccess === 'SELECTED' ? { projectIds: values.projectIds.filter((id) => projects.some((p) => p.id === id)) } : {}),
        },
      });
      if (result.error) return showApiError(result.error);
      if (result.data) onCreated(result.data.createApiKey.secret, result.data.createApiKey.apiKey.name);
    } else {
      const result = await update({ id: editing.id, input: common });
      if (result.error) return showApiError(result.error);
      onSaved();
    }
  }

  function showApiError(e: CombinedError) {
    setApiError(e);
    focusFirstInvalid(Object.keys(formErrors(e, KEY_FORM_FIELDS).fields));
  }

  const busy = created.fetching || updated.fetching;
  return (
    <Dialog title={creating ? 'Generate API Key' : `Edit API Key ${editing.name}`} onClose={onClose} className="wide">
      <form onSubmit={submit} noValidate aria-label={creating ? 'Generate API Key' : 'Edit API Key'}>
        {creating ? null : <p className="hint">The key secret is not affected by an edit. To change the expiry, rotate the key.</p>}
        <FormAlert message={api.general} />
        <fieldset>
          <legend>Key Information</legend>
          <TextField id="name" label="Key Name" required value={values.name} onChange={set('name')} error={error('name')} hint="2–200 characters, e.g. “ERP Integration”." />
          <TextArea id="description" label="Description" value={values.description} onChange={set('description')} error={error('description')} hint="Optional, at most 1000 characters." />
          <SelectField
            id="authorizationGroupId"
            label="Authorization Group"
            required
            value={values.authorizationGroupId}
            onChange={set('authorizationGroupId')}
            placeholder="Select a group"
            options={groups.map((g) => ({ value: g.id, label: g.name }))}
            error={error('authorizationGroupId')}
            hint="The permission group that governs what this key can access (groups of type Tenant API Key)."
          />
          {creating ? (
            <>
              <SelectField id="expiresIn" label="Expiration" value={values.expiry} onChange={(v) => set('expiry')(v as Expiry)} options={EXPIRY_OPTIONS} error={error('expiresIn')} />
              {values.expiry === 'DATE' ? (
                <TextField id="expiresAt" label="Expiration Date" type="date" required value={values.expiresAt} onChange={set('expiresAt')} error={error('expiresAt')} hint="The key stops working after this day (UTC)." />
              ) : null}
            </>
          ) : null}
          {adminRoleAllowed ? (
            <SelectField
              id="role"
              label="Role"
              value={values.role}
              onChange={(v) => set('role')(v as ApiKeyRole)}
              options={[
                { value: 'API_USER', label: 'API User' },
                { value: 'ADMIN', label: 'Admin' },
              ]}
              error={error('role')}
              hint="Admin keys exist only in the system tenant."
            />
          ) : null}
        </fieldset>
        <fieldset>
          <legend>Access</legend>
          <TextArea id="ipAllowlist" label="IP Allowlist" rows={3} value={values.ipAllowlist} onChange={set('ipAllowlist')} error={error('ipAllowlist')} hint="One IP address or CIDR range per line. Leave empty to allow requests from any IP." />
          {creating ? (
            <>
              <SelectField
                id="organizationId"
                label="Organization"
                value={values.organizationId}
                onChange={set('organizationId')}
                placeholder="Whole tenant"
                options={organizations.map((o) => ({ value: o.id, label: o.name }))}
                error={error('organizationId')}
                hint="Bind the key to one organization: it then reaches nothing outside it."
              />
              <SelectField
                id="projectAccess"
                label="Project Access"
                value={values.projectAccess}
                onChange={(v) => set('projectAccess')(v as ProjectAccess)}
                options={[
                  { value: 'ALL', label: 'All projects (including future ones)' },
                  { value: 'SELECTED', label: 'Selected projects only' },
                ]}
                error={error('projectAccess')}
              />
              {values.projectAccess === 'SELECTED' ? (
                <fieldset className="checklist" aria-describedby={error('projectIds') ? 'projectIds-error' : undefined}>
                  <legend>Projects</legend>
                  {projects.map((p) => (
                    <label key={p.id}>
                      <input
                        type="checkbox"
                        checked={values.projectIds.includes(p.id)}
                        onChange={(e) => set('projectIds')(e.target.checked ? [...values.projectIds, p.id] : values.projectIds.filter((id) => id !== p.id))}
                      />
                      {p.name} <span className="hint">({p.workspace.name})</span>
                    </label>
                  ))}
                  {projects.length === 0 ? <p className="hint">{allProjects.fetching ? 'Loading projects…' : values.organizationId ? 'This organization has no projects yet.' : 'This tenant has no projects yet.'}</p> : null}
                  {error('projectIds') ? (
                    <p className="field-error" id="projectIds-error">
                      {error('projectIds')}
                    </p>
                  ) : null}
                </fieldset>
              ) : null}
            </>
          ) : null}
        </fieldset>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {creating ? 'Generate' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function focusFirstInvalid(fields: string[]) {
  requestAnimationFrame(() => {
    for (const field of fields) {
      const element = document.getElementById(field);
      if (element) return element.focus();
    }
  });
}
