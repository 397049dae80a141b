import { graphql } from '../../gql';

/**
 * A run as the list and its expanded details show it: status and delivery attempts come in the
 * same fragment, so the live subscription below refreshes the row and its details alike.
 */
export const RunFields = graphql(`
  fragment ConsoleRunFields on WorkflowRun {
    id
    status
    createdAt
    input
    attempts {
      number
      startedAt
      httpStatus
      durationMs
      error
      succeeded
    }
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
    projects(tenantId: $tenantId, first: 100) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

/** The run now, then again on every status or attempt change (SSE; see ../../client.ts). */
export const RunUpdatedSubscription = graphql(`
  subscription ConsoleWorkflowRunUpdated($id: ID!) {
    workflowRunUpdated(id: $id) {
      ...ConsoleRunFields
    }
  }
`);

export const RedeliverRunMutation = graphql(`
  mutation ConsoleRedeliverWorkflowRun($id: ID!) {
    redeliverWorkflowRun(id: $id) {
      ...ConsoleRunFields
    }
  }
`);
