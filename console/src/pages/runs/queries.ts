import { graphql } from '../../gql';

/**
 * The runs list. Delivery attempts and live status (issue 13) extend this document: add the
 * fields to `ConsoleRunFields` and render them in RunDetails (./RunDetails.tsx).
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
