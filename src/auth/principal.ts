/**
 * The principal: who is calling, in which tenant, with which permissions, over which
 * organizations and projects. The auth plugin builds one for every request (anonymous
 * when there is no credential) and every resolver and service decides from it.
 */
import type { Permission } from './permissions.js';

export type UserRole = 'PLATFORM_ADMIN' | 'TENANT_ADMIN' | 'MEMBER';

type Authenticated = {
  tenantId: string;
  /** Platform admins and ADMIN keys of the system tenant act in any tenant. */
  crossTenant: boolean;
  permissions: ReadonlySet<Permission>;
};

export type SessionPrincipal = Authenticated & {
  kind: 'SESSION';
  sessionId: string;
  user: { id: string; email: string; role: UserRole };
};

export type ApiKeyPrincipal = Authenticated & {
  kind: 'API_KEY';
  apiKey: {
    id: string;
    name: string;
    prefix: string;
    role: 'API_USER' | 'ADMIN';
    organizationId: string | null;
    projectAccess: 'ALL' | 'SELECTED';
    projectIds: ReadonlySet<string>;
    /** The request authenticated with the key's previous secret, during a rotation grace. */
    usedPreviousSecret?: boolean;
    /** Its group's operation policy and cost budget; null (or absent) when the group sets neither. */
    controls?: GroupControls | null;
  };
};

export type OperationPolicy = 'ANY' | 'AUDIT' | 'TRUSTED_ONLY';

/** A trusted document of the key's group, as the request path needs it. */
export type TrustedDocumentEntry = { documentId: string; operationName: string | null; document: string };

/**
 * The GraphQL controls of a key's authorization group (modules/key-controls). Null on the
 * principal when the group has none (policy ANY, no budget): the common case, and the hot
 * path then checks one null and does nothing else.
 */
export type GroupControls = {
  groupId: string;
  operationPolicy: OperationPolicy;
  /**
   * The group's trusted documents by `sha256:<hex>` id, and by the manifest id a client gave
   * them (Relay's ids). Loaded only for AUDIT and TRUSTED_ONLY groups.
   */
  trustedDocuments: ReadonlyMap<string, TrustedDocumentEntry>;
  /** `edition`: the group's last edit, which names the budget's windows (editing it starts fresh ones). */
  costBudget: { points: number; windowSeconds: number; edition: string } | null;
};

export type AnonymousPrincipal = { kind: 'ANONYMOUS' };

export type Principal = AnonymousPrincipal | SessionPrincipal | ApiKeyPrincipal;
export type AuthenticatedPrincipal = SessionPrincipal | ApiKeyPrincipal;

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'ANONYMOUS' });

/** For the schema edge's coarse scopes; services decide through access.ts. */
export function hasPermission(principal: Principal, permission: Permission): boolean {
  return principal.kind !== 'ANONYMOUS' && principal.permissions.has(permission);
}
