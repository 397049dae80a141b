import { graphql } from '../../gql';

/**
 * A run as the list shows it. Its delivery attempts are not in the list (50 runs × their
 * attempts would pass KEYGATE_MAX_COST): the expanded run gets them from its subscription.
 */
export const RunFields = graphql(`
  fragment ConsoleRunFields on WorkflowRun {
    id
    status
    createdAt
    input
    workflow {
      id
      name
    }
    project {
      id
      name
    }
    triggeredBy {
      kind
      user {
        email
      }
      apiKey {
        name
        prefix
      }
    }
  }
`);

export const RunsQuery = graphql(`
  query ConsoleWorkflowRuns($tenantId: ID, $projectId: ID, $first: Int, $after: String) {
    workflowRuns(tenantId: $tenantId, projectId: $projectId, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...ConsoleRunFields
        }
      }
    }
  }
`);


/** An expanded run: the list's fields and its delivery attempts. */
export const RunDetailsFields = graphql(`
  fragment ConsoleRunDetails on WorkflowRun {
    ...ConsoleRunFields
    attempts {
      number
      startedAt
      httpStatus
      durationMs
      error
      succeeded
    }
  }
`);

/** The run now, then again on every status or attempt change (SSE; see ../../client.ts). */
export const RunUpdatedSubscription = graphql(`
  subscription ConsoleWorkflowRunUpdated($id: ID!) {
    workflowRunUpdated(id: $id) {
      ...ConsoleRunDetails
    }
  }
`);

export const RedeliverRunMutation = graphql(`
  mutation ConsoleRedeliverWorkflowRun($id: ID!) {
    redeliverWorkflowRun(id: $id) {
      ...ConsoleRunDetails
    }
  }
`);
