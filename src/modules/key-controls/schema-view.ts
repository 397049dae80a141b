/**
 * A schema view per caller: the SDL of what this principal may call. `GET /schema.graphql`
 * with a credential answers it (401 without one); introspection with a credential answers
 * the same view where introspection is on. Schema consumers point codegen at it and get a
 * client with only what their key can do.
 *
 * Which root fields a principal may call comes from the rules the resolvers enforce, not a
 * second list: each root field's `authScopes` (and its type's, unless it skips them), as
 * the schema edge evaluates them (`scopesOf` in schema/builder.ts: permissions, session,
 * platform admin, and `can: <action>` = access.ts's rule for the action). Fields whose rules
 * are not in the Pothos schema (a gateway's upstream fields) register theirs with
 * `registerRootFieldRule`. Root fields the principal cannot reach are removed, and the types
 * only they used are pruned (@graphql-tools/utils filterSchema + pruneSchema).
 */
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import { GraphQLError, Kind, lexicographicSortSchema, printSchema, type DocumentNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../../auth/principal.js';
import type { Authenticator } from '../../auth/use-auth.js';
import type { UsageRecorder } from '../../auth/usage.js';
import { countResult } from '../../auth/use-usage-counting.js';
import type { ServerContext } from '../../context.js';
import { badInput, unauthenticated } from '../../errors.js';
import { mayCallUpstream } from '../../auth/access.js';
import { upstreamFieldPermission } from '../../gateway/upstream-permissions.js';
import { scopesOf } from '../../schema/builder.js';
import type { RateLimitCheck } from '../../security/rate-limit.js';

export type RootTypeName = 'Query' | 'Mutation' | 'Subscription';

/** Decides for one root field whose rule is not an `authScopes` of the Pothos schema. */
export type RootFieldRule = (principal: Principal) => boolean;

const extraRules = new Map<string, RootFieldRule>();

/**
 * The seam for root fields added outside the Pothos scopes, e.g. a gateway's upstream fields
 * (permission `upstream:<name>` or `upstream:<name>:<Type>.<field>`): their rule here decides
 * whether the schema view shows them. A registered rule replaces the `authScopes` reading.
 */
export function registerRootFieldRule(type: RootTypeName, field: string, rule: RootFieldRule): () => void {
  const key = `${type}.${field}`;
  extraRules.set(key, rule);
  viewsBySchema = new WeakMap();
  return () => {
    extraRules.delete(key);
    viewsBySchema = new WeakMap();
  };
}

type ScopeMap = ReturnType<typeof scopesOf>;
type Scopes = Record<string, unknown>;

/**
 * Whether `principal` may call root field `type.field` at all, as far as its kind, role and
 * permissions decide (not which objects: another tenant's id is still NOT_FOUND when called).
 */
export function mayCallRootField(schema: GraphQLSchema, principal: Principal, type: RootTypeName, field: string): boolean {
  const extra = extraRules.get(`${type}.${field}`);
  if (extra) return extra(principal);
  // Gateway mode: an upstream's root field opens with its permission, decided by the same
  // access.ts check its resolver makes before anything reaches the upstream.
  const upstream = type === 'Subscription' ? null : upstreamFieldPermission(type, field);
  if (upstream) return mayCallUpstream(principal, upstream.upstream, type, field);
  const rootType = type === 'Query' ? schema.getQueryType() : type === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const definition = rootType?.getFields()[field];
  if (!rootType || !definition) return false;
  const fieldOptions = pothosOptions(definition.extensions);
  const typeOptions = pothosOptions(rootType.extensions);
  const scopes = scopesOf(principal);
  if (!fieldOptions.skipTypeScopes && typeOptions.authScopes && !satisfies(typeOptions.authScopes, scopes)) return false;
  return fieldOptions.authScopes ? satisfies(fieldOptions.authScopes, scopes) : true;
}

function pothosOptions(extensions: unknown): { authScopes?: unknown; skipTypeScopes?: boolean } {
  return ((extensions as { pothosOptions?: unknown } | null | undefined)?.pothosOptions ?? {}) as { authScopes?: unknown; skipTypeScopes?: boolean };
}

/**
 * Pothos scope-auth's reading of an `authScopes` object: any one scope suffices, `$all`
 * needs every one, `$any` one. A function (decided per call, with arguments) cannot be read
 * ahead of the call: the field is shown, and the call decides.
 */
function satisfies(authScopes: unknown, scopes: ScopeMap): boolean {
  if (typeof authScopes === 'function') return true;
  if (!authScopes || typeof authScopes !== 'object') return false;
  return Object.entries(authScopes as Scopes).some(([name, value]) => scopeHolds(name, value, scopes));
}

function scopeHolds(name: string, value: unknown, scopes: ScopeMap): boolean {
  if (name === '$all') return Object.entries(value as Scopes).every(([inner, innerValue]) => scopeHolds(inner, innerValue, scopes));
  if (name === '$any') return Object.entries(value as Scopes).some(([inner, innerValue]) => scopeHolds(inner, innerValue, scopes));
  if (name === '$granted') return false;
  const scope = (scopes as Record<string, unknown>)[name];
  if (typeof scope === 'function') return Boolean((scope as (parameter: unknown) => boolean)(value));
  return value === true ? scope === true : false;
}

type View = { schema: GraphQLSchema; sdl: string };
/** Views by the set of root fields they keep: few distinct ones exist (one per kind of group). */
/** Per served schema (keygate's own, or gateway mode's composed one), per set of allowed root fields. */
let viewsBySchema = new WeakMap<GraphQLSchema, Map<string, View>>();
const MAX_VIEWS = 500;

/** The schema of what `principal` may call, sorted like schema.graphql. */
export function schemaViewFor(schema: GraphQLSchema, principal: Principal): View {
  const allowed = new Set<string>();
  for (const type of ['Query', 'Mutation', 'Subscription'] as const) {
    const rootType = type === 'Query' ? schema.getQueryType() : type === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const field of Object.keys(rootType?.getFields() ?? {})) {
      if (mayCallRootField(schema, principal, type, field)) allowed.add(`${type}.${field}`);
    }
  }
  const cacheKey = [...allowed].join(',');
  let views = viewsBySchema.get(schema);
  if (!views) viewsBySchema.set(schema, (views = new Map()));
  let view = views.get(cacheKey);
  if (!view) {
    const filtered = filterSchema({ schema, rootFieldFilter: (type, field) => allowed.has(`${type}.${field}`) });
    const pruned = lexicographicSortSchema(pruneSchema(withoutEmptyRoots(filtered)));
    view = { schema: pruned, sdl: printSchema(pruned) };
    if (views.size >= MAX_VIEWS) views.clear();
    views.set(cacheKey, view);
  }
  return view;
}

/** A root type left without fields (a key calls no mutation) is no type at all in valid SDL. */
function withoutEmptyRoots(schema: GraphQLSchema): GraphQLSchema {
  const config = schema.toConfig();
  const empty = (type: typeof config.query) => (type && Object.keys(type.getFields()).length === 0 ? undefined : type);
  const mutation = empty(config.mutation);
  const subscription = empty(config.subscription);
  const dropped = new Set([config.mutation, config.subscription].filter((t) => t && !(t === mutation || t === subscription)));
  return new (schema.constructor as typeof import('graphql').GraphQLSchema)({
    ...config,
    mutation,
    subscription,
    types: config.types.filter((type) => !dropped.has(type as never)),
  });
}

export type SchemaViewOptions = {
  authenticator: Authenticator;
  /** The schema the app serves: keygate's own, or gateway mode's composed one. */
  schema: GraphQLSchema;
  /** Whether introspection is on (KEYGATE_INTROSPECTION): then it answers the caller's view. */
  introspection: boolean;
  /** The rate limits per key and tenant, which count `GET /schema.graphql` too. */
  rateLimitCheck?: RateLimitCheck | null;
  /** Per-key usage counts: a key's `GET /schema.graphql` counts like a GraphQL request. */
  usage?: UsageRecorder;
};

/** `GET /schema.graphql` and introspection answered with the caller's view. */
export function useSchemaView({ authenticator, introspection, schema, rateLimitCheck, usage }: SchemaViewOptions): Plugin<{ auth?: Principal }> {
  return {
    onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== '/schema.graphql') return;
      return schemaFile(request, serverContext as ServerContext, fetchAPI).then(endResponse);
    },
    onExecute({ args, setExecuteFn, executeFn }) {
      if (!introspection) return;
      const auth = (args.contextValue as { auth?: Principal }).auth;
      if (!auth || auth.kind === 'ANONYMOUS') return;
      const asked = rootFieldsAsked(args.document, args.operationName);
      if (!asked.introspection) return;
      if (asked.others) {
        throw badInput('query', 'Ask for __schema and __type in an operation of their own: introspection answers your schema view, the rest the full schema.');
      }
      const view = schemaViewFor(args.schema, auth).schema;
      setExecuteFn((executeArgs) => executeFn({ ...executeArgs, schema: view }));
    },
  };

  /** The caller's view as SDL; 401 without a (good) credential. */
  async function schemaFile(request: Request, server: ServerContext, fetchAPI: { Response: typeof Response }): Promise<Response> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } });
    let auth: Principal;
    try {
      auth = (await authenticator.forRequest(request, server)).auth;
    } catch (error) {
      return errorResponse(fetchAPI, error);
    }
    if (auth.kind === 'ANONYMOUS') {
      return errorResponse(fetchAPI, unauthenticated('MISSING', 'Send a credential (X-Api-Key or Authorization: Bearer): the schema view is per caller.'));
    }
    try {
      // A request of the key like any other: the per-key and per-tenant limits count it.
      await rateLimitCheck?.(auth);
    } catch (error) {
      if (usage) countResult(usage, auth, { errors: [error] });
      return errorResponse(fetchAPI, error);
    }
    if (usage) countResult(usage, auth, {});
    return new fetchAPI.Response(schemaViewFor(schema, auth).sdl, {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'private, no-store', vary: 'authorization, x-api-key' },
    });
  }
}

/**
 * What an operation asks at its root, fragments followed: introspection (`__schema`, `__type`)
 * and other fields (`__typename` is neither). Only an operation asking introspection alone
 * runs against the view; one mixing both is refused, since executed against the view its other
 * fields would vanish rather than keep their own refusal (FORBIDDEN), and executed against the
 * full schema its introspection would show more than the view.
 */
function rootFieldsAsked(document: DocumentNode, operationName: string | null | undefined): { introspection: boolean; others: boolean } {
  const asked = { introspection: false, others: false };
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName));
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return asked;
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  const visited = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__schema' || name === '__type') asked.introspection = true;
        else if (name !== '__typename') asked.others = true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment);
      }
    }
  };
  walk(operation.selectionSet);
  return asked;
}

function errorResponse(fetchAPI: { Response: typeof Response }, error: unknown): Response {
  const graphqlError = error instanceof GraphQLError ? error : unauthenticated('INVALID');
  const http = (graphqlError.extensions.http ?? {}) as { status?: number; headers?: Record<string, string> };
  const status = http.status && http.status !== 200 ? http.status : 401;
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message: graphqlError.message, extensions: { ...graphqlError.extensions, http: undefined } }] }), {
    status,
    headers: { 'content-type': 'application/json', ...(http.headers ?? {}) },
  });
}
