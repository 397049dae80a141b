/** What forms offer to pick from, shared by the pages that offer it. */
import { graphql } from './gql';

/** Every organization of the tenant, by pages (useAllNodes): a key's binding, a webhook endpoint's. */
export const OrganizationChoicesQuery = graphql(`
  query ConsoleOrganizationChoices($tenantId: ID, $after: String) {
    organizations(tenantId: $tenantId, first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

/**
 * Every project of the tenant, by pages (useAllNodes), with where it sits: the projects a
 * key may select (its organization's only, shown with their workspace), the runs filter.
 */
export const ProjectChoicesQuery = graphql(`
  query ConsoleProjectChoices($tenantId: ID, $after: String) {
    projects(tenantId: $tenantId, first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          organization {
            id
          }
          workspace {
            name
          }
        }
      }
    }
  }
`);
