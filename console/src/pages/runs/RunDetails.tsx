/**
 * One run's details, shown when its row is expanded: its input, its delivery attempts and, for
 * a FAILED run, Redeliver (offered with a permission `workflow:redeliver` accepts, see
 * src/auth/access.ts). The live status comes from useLiveRun (../Runs.tsx).
 */
import { useMutation } from 'urql';
import { FormAlert } from '../../components/fields';
import { errorText } from '../../errors';
import { dateTime } from '../../format';
import type { ConsoleRunDetailsFragment, ConsoleRunFieldsFragment } from '../../gql/graphql';
import { useScope } from '../../scope';
import { RedeliverRunMutation } from './queries';

/** Who may send a failed run again: the same as the API's `workflow:redeliver` rule. */
const REDELIVER_PERMISSIONS = ['workflows:trigger', 'webhooks:manage'];

/** A run as listed, with its attempts once the subscription has sent them. */
export type LiveRun = ConsoleRunFieldsFragment & Partial<Pick<ConsoleRunDetailsFragment, 'attempts'>>;

export function RunDetails({ run }: { run: LiveRun }) {
  const scope = useScope();
  const [redelivery, redeliver] = useMutation(RedeliverRunMutation);
  const canRedeliver = run.status === 'FAILED' && REDELIVER_PERMISSIONS.some((p) => scope.can(p));
  return (
    <div className="run-details">
      <h2 className="small">Input</h2>
      <pre>{JSON.stringify(run.input, null, 2)}</pre>
      <h2 className="small" id={`attempts-${run.id}`}>
        Delivery attempts
      </h2>
      {!run.attempts ? (
        <p role="status">Loading the delivery attempts…</p>
      ) : run.attempts.length === 0 ? (
        <p>No delivery attempt yet.</p>
      ) : (
        <table aria-labelledby={`attempts-${run.id}`}>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Sent</th>
              <th scope="col">HTTP status</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {run.attempts.map((attempt) => (
              <tr key={attempt.number}>
                <td>{attempt.number}</td>
                <td>{dateTime(attempt.startedAt)}</td>
                <td>{attempt.httpStatus ?? 'no answer'}</td>
                <td>{attempt.durationMs} ms</td>
                <td>{attempt.error ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canRedeliver ? (
        <div className="actions">
          <button type="button" disabled={redelivery.fetching} onClick={() => redeliver({ id: run.id })}>
            Redeliver <span className="sr-only">run {run.id}</span>
          </button>
        </div>
      ) : null}
      <FormAlert message={errorText(redelivery.error)} />
    </div>
  );
}
