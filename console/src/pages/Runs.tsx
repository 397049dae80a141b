/**
 * Workflow runs, newest first, per project or all; a row expands into RunDetails. The expanded
 * run is watched live (workflowRunUpdated over SSE): one connection at a time, since every
 * subscription is its own HTTP request and browsers allow few per host.
 */
import { Fragment, useEffect, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { useAllNodes } from '../all-nodes';
import { ProjectChoicesQuery } from '../choices';
import { Badge } from '../components/Badge';
import { SelectField } from '../components/fields';
import { errorText } from '../errors';
import { dateTime, enumLabel } from '../format';
import type { ConsoleRunFieldsFragment, WorkflowRunStatus } from '../gql/graphql';
import { useScope } from '../scope';
import { RunDetails, type LiveRun } from './runs/RunDetails';
import { RunsQuery, RunUpdatedSubscription } from './runs/queries';

const STATUS_TONE: Record<WorkflowRunStatus, 'ok' | 'warn' | 'bad' | 'info'> = { QUEUED: 'info', RUNNING: 'info', DELIVERED: 'ok', SUCCEEDED: 'ok', FAILED: 'bad' };

export function RunsPage() {
  const scope = useScope();
  const [projectId, setProjectId] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [expanded, setExpanded] = useState<string | null>(null);
  const [{ data, error }, refetch] = useQuery({
    query: RunsQuery,
    variables: { tenantId: scope.tenantId, projectId: projectId || null, first: 50, after: cursors[cursors.length - 1] ?? null },
    requestPolicy: 'cache-and-network',
  });
  const runs = (data?.workflowRuns.edges.map((e) => e.node) ?? []) as ConsoleRunFieldsFragment[];
  const projects = useAllNodes(ProjectChoicesQuery, { tenantId: scope.tenantId }, (d) => d.projects);
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Workflow runs</h1>
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          id="runs-project"
          label="Project"
          value={projectId}
          onChange={(v) => {
            setProjectId(v);
            setCursors([null]);
          }}
          placeholder="All projects"
          options={projects.nodes.map((project) => ({ value: project.id, label: project.name }))}
        />
      </form>
      {error ? <p role="alert">{errorText(error)}</p> : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Workflow runs</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Workflow</th>
              <th scope="col">Project</th>
              <th scope="col">Status</th>
              <th scope="col">Triggered by</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((listed) => (
              <RunRow
                key={listed.id}
                listed={listed}
                expanded={expanded === listed.id}
                onToggle={() => setExpanded(expanded === listed.id ? null : listed.id)}
                onChanged={() => refetch({ requestPolicy: 'network-only' })}
              />
            ))}
            {runs.length === 0 ? (
              <tr>
                <td colSpan={6}>No runs yet.</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!data?.workflowRuns.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, data?.workflowRuns.pageInfo.endCursor ?? null])}>
          Older
        </button>
      </div>
    </section>
  );
}

/** The listed run, or while expanded the latest the subscription sent (with its attempts). */
function useLiveRun(listed: ConsoleRunFieldsFragment, watching: boolean): LiveRun {
  const [{ data }] = useSubscription({ query: RunUpdatedSubscription, variables: { id: listed.id }, pause: !watching });
  return (watching ? data?.workflowRunUpdated : undefined) ?? listed;
}

function RunRow({ listed, expanded, onToggle, onChanged }: { listed: ConsoleRunFieldsFragment; expanded: boolean; onToggle: () => void; onChanged: () => void }) {
  const run = useLiveRun(listed, expanded);
  // A live change refreshes the list, so the row stays right once collapsed.
  const changed = run.status !== listed.status;
  useEffect(() => {
    if (changed) onChanged();
  }, [changed, run.status]);
  return (
    <Fragment>
      <tr>
        <td>{dateTime(run.createdAt)}</td>
        <th scope="row">{run.workflow.name}</th>
        <td>{run.project.name}</td>
        <td>
          <Badge tone={STATUS_TONE[run.status]}>{enumLabel(run.status)}</Badge>
        </td>
        <td>{run.triggeredBy.apiKey ? `key ${run.triggeredBy.apiKey.name}` : (run.triggeredBy.user?.email ?? enumLabel(run.triggeredBy.kind))}</td>
        <td>
          <button type="button" aria-expanded={expanded} aria-controls={`run-${run.id}`} onClick={onToggle}>
            {expanded ? 'Hide' : 'Show'} <span className="sr-only">details of run {run.id}</span>
          </button>
        </td>
      </tr>
      {expanded ? (
        <tr id={`run-${run.id}`}>
          <td colSpan={6}>
            <RunDetails run={run} />
          </td>
        </tr>
      ) : null}
    </Fragment>
  );
}
