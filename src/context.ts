/** The one context type shared by Yoga and the Pothos builder. */
import type { YogaInitialContext } from 'graphql-yoga';
import type { Principal } from './auth/principal.js';
import type { SignInAttempts } from './security/credential-throttle.js';

/** What the HTTP layer hands Yoga: Node's request when served, or a test's stand-in. */
export type ServerContext = {
  req?: { socket?: { remoteAddress?: string | undefined } };
};

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
  };
