/**
 * The seeds' API Keys page: the "2/10 keys" usage, status and expiration filters with "Show
 * revoked", the list with status badges, group, expiry and last use, and generate / edit /
 * rotate / revoke. Management actions appear only with `api_keys:manage`.
 */
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Badge } from '../components/Badge';
import { SelectField } from '../components/fields';
import { errorText } from '../errors';
import { date, dateTime } from '../format';
import type { ApiKeyStatus, ExpirationState } from '../gql/graphql';
import { useScope, type Scope } from '../scope';
import { RevokeDialog, RotateDialog, SecretDialog } from './keys/dialogs';
import { KeyFormDialog } from './keys/KeyForm';
import { KeysQuery } from './keys/queries';
import type { Key } from './keys/types';

const PAGE_SIZE = 20;

type Open =
  | { kind: 'generate' }
  | { kind: 'edit'; key: Key }
  | { kind: 'rotate'; key: Key }
  | { kind: 'revoke'; key: Key }
  | { kind: 'secret'; title: string; secret: string }
  | null;

export function ApiKeysPage() {
  const scope = useScope();
  const [status, setStatus] = useState<'' | ApiKeyStatus>('');
  const [expiration, setExpiration] = useState<'' | ExpirationState>('');
  const [showRevoked, setShowRevoked] = useState(false);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<Open>(null);
  const [announcement, setAnnouncement] = useState('');

  const statuses: ApiKeyStatus[] = status ? [status] : showRevoked ? ['ACTIVE', 'REVOKED'] : ['ACTIVE'];
  const variables = {
    tenantId: scope.tenantId,
    status: statuses,
    expirationState: expiration ? [expiration] : null,
    first: PAGE_SIZE,
    after: cursors[cursors.length - 1] ?? null,
  };
  // additionalTypenames: an empty list names no ApiKey, yet a new key must refresh it.
  const context = useMemo(() => ({ additionalTypenames: ['ApiKey', 'ApiKeyUsage'] }), []);
  const [{ data, error, fetching }, refetch] = useQuery({ query: KeysQuery, variables, context });
  const reload = () => refetch({ requestPolicy: 'network-only' });

  const usage = data?.apiKeyUsage;
  const atLimit = usage ? usage.active >= usage.limit : false;
  const canManage = scope.can('api_keys:manage');
  const keys = data?.apiKeys.edges.map((e) => e.node) ?? [];
  const resetPaging = () => setCursors([null]);
  // A later page emptied (its last keys revoked, revoked ones hidden) steps back to the one before.
  const emptiedPage = !fetching && data !== undefined && keys.length === 0 && cursors.length > 1;
  useEffect(() => {
    if (emptiedPage) setCursors((c) => c.slice(0, -1));
  }, [emptiedPage]);

  return (
    <section aria-labelledby="keys-title">
      <div className="page-header">
        <h1 id="keys-title">API Keys</h1>
        {usage ? (
          <p className="usage" aria-label={`${usage.active} of ${usage.limit} keys used`}>
            {usage.active}/{usage.limit} keys
          </p>
        ) : null}
        {canManage ? (
          <button type="button" className="primary" disabled={atLimit} aria-describedby={atLimit ? 'key-limit' : undefined} onClick={() => setOpen({ kind: 'generate' })}>
            Generate API Key
          </button>
        ) : null}
      </div>
      {scope.tenant ? <p className="hint">Keys of tenant {scope.tenant.name}. The list shows each key’s prefix only; the secret is never shown again after generation.</p> : null}
      {atLimit && usage ? (
        <p className="limit" id="key-limit" role="status">
          Key limit reached ({usage.active}/{usage.limit} keys). Keys count toward a tenant limit. Contact support to raise the limit, or revoke a key you no longer use.
        </p>
      ) : null}

      <form className="filters" aria-label="Filter keys" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          id="filter-status"
          label="Status"
          value={status}
          onChange={(v) => {
            setStatus(v as '' | ApiKeyStatus);
            resetPaging();
          }}
          options={[
            { value: '', label: 'Any status' },
            { value: 'ACTIVE', label: 'Active' },
            { value: 'REVOKED', label: 'Revoked' },
          ]}
        />
        <SelectField
          id="filter-expiration"
          label="Expiration"
          value={expiration}
          onChange={(v) => {
            setExpiration(v as '' | ExpirationState);
            resetPaging();
          }}
          options={[
            { value: '', label: 'Any expiration' },
            { value: 'VALID', label: 'Valid' },
            { value: 'EXPIRING_SOON', label: 'Expiring soon' },
            { value: 'EXPIRED', label: 'Expired' },
          ]}
        />
        <div className="checkbox">
          <input
            id="show-revoked"
            type="checkbox"
            checked={showRevoked || status === 'REVOKED'}
            disabled={status !== ''}
            onChange={(e) => {
              setShowRevoked(e.target.checked);
              resetPaging();
            }}
          />
          <label htmlFor="show-revoked">Show revoked</label>
        </div>
      </form>

      <p role="status" className="sr-only">
        {announcement}
      </p>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key prefix</th>
              <th scope="col">Status</th>
              <th scope="col">Authorization group</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              {canManage ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <KeyRow key={key.id} apiKey={key} canManage={canManage} onAction={setOpen} />
            ))}
            {keys.length === 0 && !fetching ? (
              <tr>
                <td colSpan={canManage ? 9 : 8}>No keys match these filters.</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <span>{data ? `${data.apiKeys.totalCount} key(s)` : ''}</span>
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!data?.apiKeys.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, data?.apiKeys.pageInfo.endCursor ?? null])}>
          Next page
        </button>
      </div>

      {open?.kind === 'generate' || open?.kind === 'edit' ? (
        <KeyFormDialog
          editing={open.kind === 'edit' ? open.key : null}
          onClose={() => setOpen(null)}
          onCreated={(secret, name) => {
            reload();
            setOpen({ kind: 'secret', title: `API key ${name} generated`, secret });
          }}
          onSaved={() => {
            reload();
            setAnnouncement('Key saved.');
            setOpen(null);
          }}
        />
      ) : null}
      {open?.kind === 'rotate' ? (
        <RotateDialog
          apiKey={open.key}
          onClose={() => setOpen(null)}
          onRotated={(secret) => {
            reload();
            setOpen({ kind: 'secret', title: `New secret for ${open.key.name}`, secret });
          }}
        />
      ) : null}
      {open?.kind === 'revoke' ? (
        <RevokeDialog
          apiKey={open.key}
          onClose={() => setOpen(null)}
          onRevoked={() => {
            reload();
            setAnnouncement(`Key ${open.key.name} revoked.`);
            setOpen(null);
          }}
        />
      ) : null}
      {open?.kind === 'secret' ? <SecretDialog title={open.title} secret={open.secret} onClose={() => setOpen(null)} /> : null}
    </section>
  );
}

const EXPIRATION_BADGE = {
  VALID: { tone: 'ok', label: 'Valid' },
  EXPIRING_SOON: { tone: 'warn', label: 'Expiring soon' },
  EXPIRED: { tone: 'bad', label: 'Expired' },
} as const;

/**
 * Edit and Rotate as the API allows them: on keys whose group grants nothing the viewer lacks
 * (either would hand the viewer that power), ADMIN keys by platform administrators only.
 * Revoke only takes power away: offered on every key.
 */
function mayChange(apiKey: Key, scope: Scope): boolean {
  return apiKey.authorizationGroup.permissions.every(scope.can) && (apiKey.role !== 'ADMIN' || scope.role === 'PLATFORM_ADMIN');
}

function KeyRow({ apiKey, canManage, onAction }: { apiKey: Key; canManage: boolean; onAction: (open: Open) => void }) {
  const scope = useScope();
  const active = apiKey.status === 'ACTIVE';
  const changeable = mayChange(apiKey, scope);
  const expiration = EXPIRATION_BADGE[apiKey.expirationState];
  return (
    <tr>
      <th scope="row">
        {apiKey.name}
        {apiKey.description ? <span className="sub">{apiKey.description}</span> : null}
      </th>
      <td>
        <code>{apiKey.prefix}…</code>
      </td>
      <td>
        {active ? <Badge tone="ok">Active</Badge> : <Badge tone="muted">Revoked</Badge>} {active && apiKey.expirationState !== 'VALID' ? <Badge tone={expiration.tone}>{expiration.label}</Badge> : null}
      </td>
      <td>
        {apiKey.authorizationGroup.name}
        {apiKey.organization ? <span className="sub">{apiKey.organization.name} only</span> : null}
        {apiKey.projectAccess === 'SELECTED' ? <span className="sub">Projects: {apiKey.projects.map((p) => p.name).join(', ') || 'none'}</span> : null}
      </td>
      <td>{apiKey.role === 'ADMIN' ? 'Admin' : 'API User'}</td>
      <td className="nowrap">{date(apiKey.createdAt)}</td>
      <td className="nowrap">{date(apiKey.expiresAt, 'Never')}</td>
      <td>
        {dateTime(apiKey.lastUsedAt, 'Never')}
        {apiKey.lastUsedIp ? <span className="sub">from {apiKey.lastUsedIp}</span> : null}
      </td>
      {canManage ? (
        <td className="row-actions">
          {active ? (
            <>
              {changeable ? (
                <button type="button" aria-label={`Edit ${apiKey.name}`} onClick={() => onAction({ kind: 'edit', key: apiKey })}>
                  Edit
                </button>
              ) : null}
              {changeable && apiKey.expirationState !== 'EXPIRED' ? (
                <button type="button" aria-label={`Rotate ${apiKey.name}`} onClick={() => onAction({ kind: 'rotate', key: apiKey })}>
                  Rotate
                </button>
              ) : null}
              <button type="button" className="danger" aria-label={`Revoke ${apiKey.name}`} onClick={() => onAction({ kind: 'revoke', key: apiKey })}>
                Revoke
              </button>
            </>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}
