import { graphql } from '../../gql';

export const KeysQuery = graphql(`
  query ConsoleApiKeys($tenantId: ID, $status: [ApiKeyStatus!], $expirationState: [ExpirationState!], $first: Int, $after: String) {
    apiKeyUsage(tenantId: $tenantId) {
      active
      limit
    }
    apiKeys(tenantId: $tenantId, status: $status, expirationState: $expirationState, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          description
          prefix
          role
          status
          expirationState
          expiresAt
          createdAt
          lastUsedAt
          lastUsedIp
          ipAllowlist
          projectAccess
          projects {
            id
            name
          }
          authorizationGroup {
            id
            name
            permissions
          }
          organization {
            id
            name
          }
        }
      }
    }
  }
`);

export const KeyFormGroupsQuery = graphql(`
  query ConsoleKeyFormGroups($tenantId: ID) {
    authorizationGroups(tenantId: $tenantId, type: TENANT_API_KEY) {
      id
      name
      description
      permissions
    }
  }
`);

export const CreateKeyMutation = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        name
        prefix
      }
    }
  }
`);

export const UpdateKeyMutation = graphql(`
  mutation ConsoleUpdateApiKey($id: ID!, $input: UpdateApiKeyInput!) {
    updateApiKey(id: $id, input: $input) {
      id
      name
      description
      ipAllowlist
      authorizationGroup {
        id
        name
      }
    }
  }
`);

export const RotateKeyMutation = graphql(`
  mutation ConsoleRotateApiKey($id: ID!, $input: RotateApiKeyInput) {
    rotateApiKey(id: $id, input: $input) {
      secret
      apiKey {
        id
        name
        prefix
        expiresAt
        rotatedAt
      }
    }
  }
`);

export const RevokeKeyMutation = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      status
      revokedAt
    }
  }
`);
