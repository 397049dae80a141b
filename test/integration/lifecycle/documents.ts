/** Documents and helpers shared by the lifecycle tests (issue 17). */
import { graphql } from '../../gql/index.js';

export const Viewer = graphql(`
  query LifecycleViewer {
    viewer {
      kind
    }
  }
`);

export const RotateWithGrace = graphql(`
  mutation LifecycleRotate($id: ID!, $input: RotateApiKeyInput) {
    rotateApiKey(id: $id, input: $input) {
      secret
      apiKey {
        id
        prefix
        previousSecretExpiresAt
        previousSecretLastUsedAt
        expiresAt
      }
    }
  }
`);

export const EndGrace = graphql(`
  mutation LifecycleEndGrace($id: ID!) {
    endRotationGrace(id: $id) {
      id
      previousSecretExpiresAt
    }
  }
`);

export const Revoke = graphql(`
  mutation LifecycleRevoke($id: ID!) {
    revokeApiKey(id: $id) {
      id
      status
      previousSecretExpiresAt
    }
  }
`);

export const GetKey = graphql(`
  query LifecycleKey($id: ID!) {
    apiKey(id: $id) {
      id
      status
      previousSecretExpiresAt
      previousSecretLastUsedAt
    }
  }
`);

export const ReportLeak = graphql(`
  mutation LifecycleReportLeak($secret: String!) {
    reportLeakedApiKey(secret: $secret) {
      action
      apiKey {
        id
        status
      }
    }
  }
`);

export const UpdatePolicy = graphql(`
  mutation LifecycleUpdatePolicy($tenantId: ID!, $input: UpdateTenantKeyPolicyInput!) {
    updateTenantKeyPolicy(tenantId: $tenantId, input: $input) {
      id
      keyPolicy {
        maxLifetimeDays
        requireExpiry
        requireIpAllowlist
        leakResponse
      }
    }
  }
`);

export const CreateKey = graphql(`
  mutation LifecycleCreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
      }
    }
  }
`);

export const PolicyViolations = graphql(`
  query LifecyclePolicyViolations($tenantId: ID, $policyViolation: Boolean) {
    apiKeys(tenantId: $tenantId, policyViolation: $policyViolation, first: 50) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
  }
`);

export const Usage = graphql(`
  query LifecycleUsage($id: ID!, $from: DateTime!, $to: DateTime!, $interval: UsageInterval) {
    apiKey(id: $id) {
      usage(from: $from, to: $to, interval: $interval) {
        start
        accepted
        acceptedWithPreviousSecret
        rejected
        rejectedBy {
          forbidden
          ipAddress
          rateLimit
          budget
          untrustedOperation
        }
      }
    }
  }
`);

export const MINUTE_MS = 60_000;
export const DAY_MS = 24 * 3600_000;
