/**
 * Webhook endpoints (needs webhooks:manage, sessions only): the list, Add endpoint (its signing
 * secret shown once, like a key's), Rotate secret and Delete. Editing URL or events is left to
 * the API (updateWebhookEndpoint).
 */
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { useAllNodes } from '../all-nodes';
import { OrganizationChoicesQuery } from '../choices';
import { ConfirmDialog, DangerActions, Dialog } from '../components/Dialog';
import { FormAlert, GracePeriodField, graceLabel, graceMinutes, SelectField, TextArea, TextField, useListedChoice } from '../components/fields';
import { errorText, formErrors } from '../errors';
import { dateTime } from '../format';
import { graphql } from '../gql';
import { useScope } from '../scope';
import { SecretDialog } from './keys/dialogs';

/** keygate's event catalogue (src/modules/webhook/events.ts; README "Webhooks"). */
const EVENT_TYPES: { name: string; description: string }[] = [
  { name: 'workflow.run.triggered', description: 'A workflow was triggered; its endpoint’s answer sets the run’s status.' },
  { name: 'data.delivered', description: 'An integration delivered data to a project.' },
  { name: 'api_key.created', description: 'An API key was created.' },
  { name: 'api_key.rotated', description: 'An API key’s secret was rotated.' },
  { name: 'api_key.revoked', description: 'An API key was revoked.' },
  { name: 'api_key.expiring_soon', description: 'An API key entered the expiring-soon window (once per key).' },
  { name: 'api_key.expired', description: 'An API key passed its expiry date (once per key).' },
  { name: 'api_key.leaked', description: 'An API key’s secret was found exposed.' },
];

const EndpointsQuery = graphql(`
  query ConsoleWebhookEndpoints($tenantId: ID) {
    webhookEndpoints(tenantId: $tenantId) {
      id
      url
      description
      events
      projectIds
      createdAt
      secretRotatedAt
      organization {
        id
        name
      }
    }
  }
`);

const CreateEndpointMutation = graphql(`
  mutation ConsoleCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      signingSecret
      endpoint {
        id
      }
    }
  }
`);

const RotateEndpointSecretMutation = graphql(`
  mutation ConsoleRotateWebhookEndpointSecret($id: ID!, $input: RotateWebhookEndpointSecretInput) {
    rotateWebhookEndpointSecret(id: $id, input: $input) {
      signingSecret
      endpoint {
        id
        secretRotatedAt
      }
    }
  }
`);

const DeleteEndpointMutation = graphql(`
  mutation ConsoleDeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

type Endpoint = { id: string; url: string };
type Acting = { kind: 'rotate' | 'delete'; endpoint: Endpoint };

export function WebhooksPage() {
  const scope = useScope();
  const context = useMemo(() => ({ additionalTypenames: ['WebhookEndpoint'] }), []);
  const [{ data, error }, refetch] = useQuery({ query: EndpointsQuery, variables: { tenantId: scope.tenantId }, context });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const [creating, setCreating] = useState(false);
  const [acting, setActing] = useState<Acting | null>(null);
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);

  return (
    <section aria-labelledby="webhooks-title">
      <div className="page-header">
        <h1 id="webhooks-title">Webhook endpoints</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Add endpoint
        </button>
      </div>
      <p className="hint">keygate POSTs signed events (Standard Webhooks) to these URLs; a workflow’s runs go to the endpoint it names.</p>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Webhook endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Organization</th>
              <th scope="col">Events</th>
              <th scope="col">Projects</th>
              <th scope="col">Created</th>
              <th scope="col">Secret rotated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(data?.webhookEndpoints ?? []).map((e) => (
              <tr key={e.id}>
                <th scope="row">
                  <code>{e.url}</code>
                  {e.description ? <span className="sub">{e.description}</span> : null}
                </th>
                <td>{e.organization.name}</td>
                <td>
                  <ul className="tags">
                    {e.events.map((name) => (
                      <li key={name}>
                        <code>{name}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>{e.projectIds.length === 0 ? 'All' : e.projectIds.length}</td>
                <td>{dateTime(e.createdAt)}</td>
                <td>{dateTime(e.secretRotatedAt, 'never')}</td>
                <td className="row-actions">
                  <button type="button" aria-label={`Rotate secret of ${e.url}`} onClick={() => setActing({ kind: 'rotate', endpoint: e })}>
                    Rotate secret
                  </button>
                  <button type="button" className="danger" aria-label={`Delete ${e.url}`} onClick={() => setActing({ kind: 'delete', endpoint: e })}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {data && data.webhookEndpoints.length === 0 ? (
              <tr>
                <td colSpan={7}>No endpoints yet.</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {creating ? (
        <CreateEndpointDialog
          onClose={() => setCreating(false)}
          onCreated={(signingSecret) => {
            reload();
            setCreating(false);
            setSecret({ title: 'Endpoint added: its signing secret', value: signingSecret });
          }}
        />
      ) : null}
      {acting?.kind === 'rotate' ? (
        <RotateSecretDialog
          endpoint={acting.endpoint}
          onClose={() => setActing(null)}
          onRotated={(signingSecret) => {
            reload();
            setActing(null);
            setSecret({ title: 'New signing secret', value: signingSecret });
          }}
        />
      ) : null}
      {acting?.kind === 'delete' ? (
        <DeleteEndpointDialog
          endpoint={acting.endpoint}
          onClose={() => setActing(null)}
          onDeleted={() => {
            reload();
            setActing(null);
          }}
        />
      ) : null}
      {secret ? <SecretDialog title={secret.title} secret={secret.value} onClose={() => setSecret(null)} /> : null}
    </section>
  );
}

function CreateEndpointDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (signingSecret: string) => void }) {
  const scope = useScope();
  // Every organization, asked when the dialog opens: one made on another page is offered.
  const organizationChoices = useAllNodes(OrganizationChoicesQuery, { tenantId: scope.tenantId }, (d) => d.organizations);
  const organizations = organizationChoices.nodes;
  const [url, setUrl] = useState('');
  const [organizationId, setOrganizationId] = useListedChoice(organizations.map((o) => o.id));
  const [events, setEvents] = useState<string[]>(['workflow.run.triggered']);
  const [description, setDescription] = useState('');
  const [result, create] = useMutation(CreateEndpointMutation);
  const errors = formErrors(result.error, ['url', 'organizationId', 'events', 'description']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const answer = await create({ input: { url: url.trim(), organizationId, events, description: description.trim() || null } });
    if (answer.data) onCreated(answer.data.createWebhookEndpoint.signingSecret);
  }

  return (
    <Dialog title="Add webhook endpoint" onClose={onClose} className="wide">
      <form onSubmit={submit} noValidate aria-label="Webhook endpoint">
        <FormAlert message={errors.general} />
        <TextField id="endpoint-url" label="URL" type="url" required value={url} onChange={setUrl} hint="An http(s) URL on the public internet." error={errors.fields.url} />
        <SelectField
          id="endpoint-organization"
          label="Organization"
          required
          value={organizationId}
          onChange={setOrganizationId}
          options={organizations.map((o) => ({ value: o.id, label: o.name }))}
          error={errors.fields.organizationId}
        />
        <fieldset className="checklist" aria-describedby={errors.fields.events ? 'events-error' : undefined}>
          <legend>Events</legend>
          {EVENT_TYPES.map((t) => (
            <div key={t.name} className="permission">
              <input
                id={`event-${t.name}`}
                type="checkbox"
                checked={events.includes(t.name)}
                aria-describedby={`event-${t.name}-desc`}
                onChange={(e) => setEvents(e.target.checked ? [...events, t.name] : events.filter((x) => x !== t.name))}
              />
              <label htmlFor={`event-${t.name}`}>
                <code>{t.name}</code>
              </label>
              <span className="sub" id={`event-${t.name}-desc`}>
                {t.description}
              </span>
            </div>
          ))}
          {errors.fields.events ? (
            <p className="field-error" id="events-error">
              {errors.fields.events}
            </p>
          ) : null}
        </fieldset>
        <TextArea id="endpoint-description" label="Description" value={description} onChange={setDescription} error={errors.fields.description} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={result.fetching || organizationChoices.fetching}>
            Add endpoint
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RotateSecretDialog({ endpoint, onClose, onRotated }: { endpoint: Endpoint; onClose: () => void; onRotated: (signingSecret: string) => void }) {
  const [grace, setGrace] = useState('');
  const [result, rotate] = useMutation(RotateEndpointSecretMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const answer = await rotate({ id: endpoint.id, input: { gracePeriodMinutes: graceMinutes(grace) } });
    if (answer.data) onRotated(answer.data.rotateWebhookEndpointSecret.signingSecret);
  }
  return (
    <Dialog title={`Rotate the signing secret of ${endpoint.url}`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Rotate signing secret">
        <p className="warning">
          {grace
            ? `Deliveries are signed with both secrets for ${graceLabel(grace)}, then with the new one only: update the receiver within that time.`
            : 'Every later delivery is signed with the new secret at once: update the receiver right after, or it will reject keygate’s events.'}
        </p>
        <GracePeriodField id="rotate-secret-grace" label="The current secret keeps signing" value={grace} onChange={setGrace} />
        <FormAlert message={errorText(result.error)} />
        <DangerActions confirmLabel="Rotate" busy={result.fetching} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

function DeleteEndpointDialog({ endpoint, onClose, onDeleted }: { endpoint: Endpoint; onClose: () => void; onDeleted: () => void }) {
  const [result, remove] = useMutation(DeleteEndpointMutation);
  return (
    <ConfirmDialog
      title={`Delete endpoint ${endpoint.url}`}
      formLabel="Delete endpoint"
      warning="It receives no more events, and workflows that deliver their runs to it stop doing so. This cannot be undone."
      confirmLabel="Delete"
      error={errorText(result.error)}
      busy={result.fetching}
      onConfirm={async () => {
        if (!(await remove({ id: endpoint.id })).error) onDeleted();
      }}
      onClose={onClose}
    />
  );
}
