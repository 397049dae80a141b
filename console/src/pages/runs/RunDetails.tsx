/**
 * One run's details, shown when its row is expanded. The seam for issue 13: delivery attempts
 * and live status render here, from fields added to ConsoleRunFields (./queries.ts).
 */
import type { ConsoleRunFieldsFragment } from '../../gql/graphql';

export function RunDetails({ run }: { run: ConsoleRunFieldsFragment }) {
  return (
    <div className="run-details">
      <h2 className="small">Input</h2>
      <pre>{JSON.stringify(run.input, null, 2)}</pre>
    </div>
  );
}
