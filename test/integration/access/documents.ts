/** Operations of the access-policy tests. Names start with `Access` (codegen wants them unique). */
import { graphql } from '../../gql/index.js';

export const CreateKey = graphql(`
  mutation AccessCreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        role
      }
    }
  }
`);

export const UpdateKey = graphql(`
  mutation AccessUpdateKey($id: ID!, $input: UpdateApiKeyInput!) {
    updateApiKey(id: $id, input: $input) {
      id
    }
  }
`);

export const RotateKey = graphql(`
  mutation AccessRotateKey($id: ID!) {
    rotateApiKey(id: $id) {
      secret
    }
  }
`);

export const RevokeKey = graphql(`
  mutation AccessRevokeKey($id: ID!) {
    revokeApiKey(id: $id) {
      status
    }
  }
`);

export const CreateUser = graphql(`
  mutation AccessCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      email
    }
  }
`);

export const CreateGroup = graphql(`
  mutation AccessCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
      permissions
    }
  }
`);

export const UpdateGroup = graphql(`
  mutation AccessUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
      permissions
    }
  }
`);

export const CreateTenant = graphql(`
  mutation AccessCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      id
    }
  }
`);

export const UpdateTenant = graphql(`
  mutation AccessUpdateTenant($id: ID!, $input: UpdateTenantInput!) {
    updateTenant(id: $id, input: $input) {
      apiKeyLimit
    }
  }
`);

export const CreateOrganization = graphql(`
  mutation AccessCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

export const UpdateWorkspace = graphql(`
  mutation AccessUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      id
      name
    }
  }
`);

export const DeleteWorkspace = graphql(`
  mutation AccessDeleteWorkspace($id: ID!) {
    deleteWorkspace(id: $id)
  }
`);

export const ListKeys = graphql(`
  query AccessListKeys($tenantId: ID, $first: Int, $after: String) {
    apiKeys(tenantId: $tenantId, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
        }
      }
    }
  }
`);

export const ListAuditEvents = graphql(`
  query AccessListAuditEvents($first: Int, $after: String) {
    auditEvents(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          action
          actorKind
          actorId
        }
      }
    }
  }
`);

export const ListGroups = graphql(`
  query AccessListGroups {
    authorizationGroups {
      id
    }
  }
`);

export const ListRuns = graphql(`
  query AccessListRuns($first: Int, $after: String) {
    workflowRuns(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
        }
      }
    }
  }
`);

export const KeyWithCreator = graphql(`
  query AccessKeyWithCreator($id: ID!) {
    apiKey(id: $id) {
      id
      createdBy {
        id
        email
        role
        tenant {
          slug
          isSystem
        }
      }
      revokedBy {
        id
        email
      }
    }
  }
`);

export const SignIn = graphql(`
  mutation AccessSignIn($email: String!, $password: String!, $tenant: String) {
    signIn(email: $email, password: $password, tenant: $tenant) {
      token
      user {
        id
        tenant {
          slug
        }
      }
    }
  }
`);

export const TriggerWorkflow = graphql(`
  mutation AccessTriggerWorkflow($input: TriggerWorkflowInput!) {
    triggerWorkflow(input: $input) {
      id
    }
  }
`);

export const AddTrustedDocuments = graphql(`
  mutation AccessAddTrustedDocuments($authorizationGroupId: ID!, $documents: [String!]) {
    addTrustedDocuments(authorizationGroupId: $authorizationGroupId, documents: $documents) {
      id
    }
  }
`);
