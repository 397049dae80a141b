/** The one context type shared by Yoga and the Pothos builder. */
import type { GraphQLSchema } from 'graphql';
import type { YogaInitialContext } from 'graphql-yoga';
import type { Principal } from './auth/principal.js';
import type { AuthContext, Reauthentication } from './auth/use-auth.js';
import type { SignInAttempts } from './security/credential-throttle.js';

/** What the HTTP layer hands Yoga: Node's request when served, or a test's stand-in. */
export type ServerContext = {
  req?: { socket?: { remoteAddress?: string | undefined } };
  /** Set when the gateway's upstream lane read the request first and passes it on (gateway/upstream-lane.ts). */
  laneHandoff?: LaneHandoff;
};

/**
 * What the upstream lane did before deciding that Yoga answers this request: its
 * authentication (success or failure, reused rather than repeated, so last-used, usage and
 * failure counts see the request once) and, when it counted the rate limits, their refusal.
 */
export type LaneHandoff = { authentication: Promise<AuthContext>; rateLimitRefusal?: unknown };

export type Context = YogaInitialContext &
  ServerContext & {
    /** Always set: anonymous when the request carries no credential. */
    auth: Principal;
    /** The client's address: the socket's, or X-Forwarded-For's from a trusted proxy. */
    clientAddress: string | null;
    /** The X-Workspace-Id header, checked by the operations that act inside a workspace. */
    workspaceId: string | null;
    /** The failed-credential throttle, asked by signIn for every password it verifies. */
    signInAttempts: SignInAttempts;
    /**
     * The schema clients' documents are validated against: keygate's own, or in gateway mode
     * the one composed with the upstreams'. A resolver's `info.schema` is keygate's alone
     * there (stitching delegates its fields to it), so trusted documents are checked on this.
     */
    servedSchema: GraphQLSchema;
  } & Reauthentication;
