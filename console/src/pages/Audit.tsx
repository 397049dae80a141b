/** The audit trail, newest first, optionally narrowed to one action. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { TextField } from '../components/fields';
import { errorText } from '../errors';
import { dateTime } from '../format';
import { graphql } from '../gql';
import { useScope } from '../scope';

const AuditQuery = graphql(`
  query ConsoleAudit($tenantId: ID, $action: String, $first: Int, $after: String) {
    auditEvents(tenantId: $tenantId, action: $action, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          action
          actorKind
          actorId
          targetType
          targetId
          createdAt
        }
      }
    }
  }
`);

export function AuditPage() {
  const scope = useScope();
  const [action, setAction] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error }] = useQuery({
    query: AuditQuery,
    variables: { tenantId: scope.tenantId, action: action.trim() || null, first: 50, after: cursors[cursors.length - 1] ?? null },
    requestPolicy: 'cache-and-network',
  });
  const events = data?.auditEvents.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form className="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <TextField
          id="audit-action"
          label="Action"
          hint="e.g. api_key.created"
          value={action}
          onChange={(v) => {
            setAction(v);
            setCursors([null]);
          }}
        />
      </form>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Audit events</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.createdAt)}</td>
                <th scope="row">
                  <code>{e.action}</code>
                </th>
                <td>
                  {e.actorKind.toLowerCase().replace('_', ' ')} <span className="sub">{e.actorId ?? ''}</span>
                </td>
                <td>
                  {e.targetType} <span className="sub">{e.targetId}</span>
                </td>
              </tr>
            ))}
            {events.length === 0 ? (
              <tr>
                <td colSpan={4}>No events.</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!data?.auditEvents.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, data?.auditEvents.pageInfo.endCursor ?? null])}>
          Older
        </button>
      </div>
    </section>
  );
}
