/** Operations of the management tests. Names start with `Mgmt` (codegen wants them unique). */
import { graphql } from '../../gql/index.js';

export const ListUsers = graphql(`
  query MgmtUsers($tenantId: ID, $role: UserRole, $authorizationGroupId: ID, $first: Int, $after: String) {
    users(tenantId: $tenantId, role: $role, authorizationGroupId: $authorizationGroupId, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
          email
          role
          deactivatedAt
          authorizationGroup {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const GetUser = graphql(`
  query MgmtUser($id: ID!) {
    user(id: $id) {
      id
      email
      role
      deactivatedAt
    }
  }
`);

export const UpdateUser = graphql(`
  mutation MgmtUpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      id
      role
      authorizationGroup {
        id
        name
      }
    }
  }
`);

export const DeactivateUser = graphql(`
  mutation MgmtDeactivateUser($id: ID!) {
    deactivateUser(id: $id) {
      id
      deactivatedAt
    }
  }
`);

export const ChangePassword = graphql(`
  mutation MgmtChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      id
    }
  }
`);

export const SignIn = graphql(`
  mutation MgmtSignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      token
    }
  }
`);

export const Viewer = graphql(`
  query MgmtViewer {
    viewer {
      kind
      projectAccess
      projects {
        id
      }
    }
  }
`);

export const KeyWithCreator = graphql(`
  query MgmtKeyWithCreator($id: ID!) {
    apiKey(id: $id) {
      id
      status
      expiresAt
      expirationState
      organization {
        id
      }
      authorizationGroup {
        id
        name
        deletedAt
      }
      createdBy {
        id
        email
        deactivatedAt
      }
    }
  }
`);

export const UpdateProject = graphql(`
  mutation MgmtUpdateProject($id: ID!, $input: UpdateProjectInput!) {
    updateProject(id: $id, input: $input) {
      id
      name
      slug
    }
  }
`);

export const DeleteProject = graphql(`
  mutation MgmtDeleteProject($id: ID!) {
    deleteProject(id: $id)
  }
`);

export const CreateOrganization = graphql(`
  mutation MgmtCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
      name
      slug
    }
  }
`);

export const UpdateOrganization = graphql(`
  mutation MgmtUpdateOrganization($id: ID!, $input: UpdateOrganizationInput!) {
    updateOrganization(id: $id, input: $input) {
      id
      name
      slug
    }
  }
`);

export const DeleteOrganization = graphql(`
  mutation MgmtDeleteOrganization($id: ID!) {
    deleteOrganization(id: $id)
  }
`);

export const ListOrganizations = graphql(`
  query MgmtOrganizations($first: Int, $after: String, $last: Int, $before: String) {
    organizations(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
      }
    }
  }
`);

export const ListProjects = graphql(`
  query MgmtProjects {
    projects {
      totalCount
      edges {
        node {
          id
        }
      }
    }
  }
`);

export const TriggerWorkflow = graphql(`
  mutation MgmtTrigger($input: TriggerWorkflowInput!) {
    triggerWorkflow(input: $input) {
      id
      triggeredByKind
      triggeredBy {
        kind
        apiKey {
          id
          name
        }
        user {
          id
        }
      }
    }
  }
`);

export const ListRuns = graphql(`
  query MgmtRuns($projectId: ID) {
    workflowRuns(projectId: $projectId) {
      edges {
        node {
          id
          triggeredBy {
            kind
            apiKey {
              id
            }
            user {
              id
              email
            }
          }
        }
      }
    }
  }
`);

export const DeliverData = graphql(`
  mutation MgmtDeliver($input: DeliverDataInput!) {
    deliverData(input: $input) {
      id
    }
  }
`);

export const ListDeliveries = graphql(`
  query MgmtDeliveries($projectId: ID!, $first: Int, $after: String) {
    dataDeliveries(projectId: $projectId, first: $first, after: $after) {
      totalCount
      edges {
        node {
          id
          source
          payload
          deliveredBy {
            kind
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const RotateKey = graphql(`
  mutation MgmtRotateKey($id: ID!, $input: RotateApiKeyInput) {
    rotateApiKey(id: $id, input: $input) {
      secret
      apiKey {
        id
        expiresAt
        expirationState
      }
    }
  }
`);

export const CreateKey = graphql(`
  mutation MgmtCreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      apiKey {
        id
      }
    }
  }
`);

export const RevokeKey = graphql(`
  mutation MgmtRevokeKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
    }
  }
`);

export const DeleteGroup = graphql(`
  mutation MgmtDeleteGroup($id: ID!) {
    deleteAuthorizationGroup(id: $id)
  }
`);

export const ListGroups = graphql(`
  query MgmtGroups {
    authorizationGroups {
      id
    }
  }
`);

export const Permissions = graphql(`
  query MgmtPermissions {
    permissionCatalogue
    permissions {
      name
      description
    }
  }
`);
