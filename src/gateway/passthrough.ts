/**
 * Whole operations for one upstream, sent on as they are.
 *
 * Stitching plans every request anew: a delegation document per root field, printed afresh
 * (a new document each time, so never from the printer's cache), the answers merged back.
 * An operation whose root fields all belong to one upstream needs none of it: start-up
 * refuses type and root field names that overlap keygate's or another upstream's, so the
 * upstream has every type the client selected, and the document keygate parsed, validated,
 * priced and authorized goes to it unchanged, with its variables coerced as execute would
 * coerce them, through the same executor-http executor (the
 * upstream's headers, the principal token, its timeout, UPSTREAM_UNAVAILABLE on a transport
 * failure). The operation still passes every check before it (trusted documents, the schema
 * view, rate limits, cost budgets), since this only replaces the execute step, and every
 * field's permission is asked here as the guarded resolvers ask it.
 *
 * Before either, every operation's nested root fields (nested-root-fields.ts) are asked for:
 * one the principal may not call refuses the operation before any upstream sees it.
 *
 * Everything else runs through stitching as before, which answers field by field: keygate's
 * own fields, several upstreams in one operation, a document with several operations,
 * `__typename` or introspection at the root, fragments or directives at the root, any root
 * field the principal may not call, and any operation selecting root fields below the top
 * level (a Relay payload's `query { … }`, `... on Query` under a union), which may belong to
 * keygate or another upstream.
 */
import type { Executor } from '@graphql-tools/utils';
import {
  GraphQLError,
  isNonNullType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { assertCanCallUpstream, mayCallUpstream, requireAuthenticated } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { forbidden, unauthenticated } from '../errors.js';
import { coercedVariables } from '../lib/variables.js';
import { mayCallRootField } from '../modules/key-controls/schema-view.js';
import { nestedRootFields, type NestedRootField } from './nested-root-fields.js';
import { selectedAnswer } from './selected-answer.js';
import type { PrincipalTokens } from './principal-token.js';
import { upstreamFieldPermission } from './upstream-permissions.js';
import { attachPrincipalToken, type GatewayContext } from './upstreams.js';

/** `Query.orders` → the upstream serving it and its executor. */
export type UpstreamRoutes = ReadonlyMap<string, { upstream: string; executor: Executor }>;

/** Where the operation goes, and its root fields: their names, and their answers' keys (aliases) with whether each may be null. */
export type Route = { upstream: string; executor: Executor; typeName: 'Query' | 'Mutation'; fields: string[]; answers: RootAnswer[] };

type RootAnswer = { key: string; nullable: boolean };

/** An operation that went to one upstream whole: its parsed document and route. */
export type Plan = { document: DocumentNode; route: Route };

const MAX_PLANS = 1_000;

/**
 * Operations this process has sent to one upstream whole, by their text and operation name:
 * for the upstream lane (upstream-lane.ts), which answers them again without Yoga. A plan is
 * remembered only once a request got that far, so its text has passed parsing, validation
 * and the query limits, none of which depend on who sends it (the maximum cost, which reads
 * variables, is priced again each time). Cleared when full: a flood of distinct texts costs
 * speed, never correctness.
 */
export class PassthroughPlans {
  private readonly byText = new Map<string, Map<string, Plan>>();

  find(text: string, operationName: string | null | undefined): Plan | undefined {
    return this.byText.get(text)?.get(operationName ?? '');
  }

  remember(text: string, operationName: string | null | undefined, plan: Plan): void {
    let byName = this.byText.get(text);
    if (!byName) {
      if (this.byText.size >= MAX_PLANS) this.byText.clear();
      this.byText.set(text, (byName = new Map()));
    }
    byName.set(operationName ?? '', plan);
  }
}

/** The whole operation to its upstream, through the route's executor-http executor. */
export function sendWhole(route: Route, request: { document: DocumentNode; variables: Record<string, unknown>; operationName?: string; context: GatewayContext }): Promise<ExecutionResult> {
  return (route.executor(request) as Promise<ExecutionResult>).then((result) => withRootFieldPaths(selectedAnswer(result, request.document, request.operationName), route));
}

export function useUpstreamPassthrough(routes: UpstreamRoutes, tokens: PrincipalTokens, plans: PassthroughPlans): Plugin {
  if (routes.size === 0) return {};
  const nestedOf = perOperation(nestedRootFields);
  const routeOf = perOperation((schema, document, operationName) => plan(schema, document, operationName, routes, nestedOf(schema, document, operationName)));

  return {
    onExecute({ args, setExecuteFn }) {
      const context = args.contextValue as unknown as GatewayContext & { params?: { query?: unknown; operationName?: string | null } };
      assertMayCallNested(args.schema, context.auth, nestedOf(args.schema, args.document, args.operationName));
      const route = routeOf(args.schema, args.document, args.operationName);
      if (!route) return;
      // Otherwise stitching answers field by field, refusals included.
      if (!route.fields.every((field) => mayCallUpstream(context.auth, route.upstream, route.typeName, field))) return;
      const actor = requireAuthenticated(context.auth);
      setExecuteFn((execution: ExecutionArgs) => {
        const variables = coercedVariables(execution.schema, execution.document, execution.operationName, execution.variableValues);
        if ('errors' in variables) return { errors: variables.errors };
        // Parsed, validated and past every check before execution: the lane may take its text from now on.
        const text = context.params?.query;
        if (typeof text === 'string') plans.remember(text, context.params?.operationName, { document: execution.document, route });
        const request = { document: execution.document, variables: variables.coerced, operationName: execution.operationName ?? undefined, context };
        const signing = attachPrincipalToken(context, actor, tokens);
        return signing ? signing.then(() => sendWhole(route, request)) : sendWhole(route, request);
      });
    },
  };
}

/**
 * `compute` once per parsed document (Yoga's parser cache hands out the same node for the
 * same text) and operation name.
 */
function perOperation<T>(compute: (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) => T) {
  const byDocument = new WeakMap<DocumentNode, Map<string, T>>();
  return (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): T => {
    let byName = byDocument.get(document);
    if (!byName) byDocument.set(document, (byName = new Map()));
    const name = operationName ?? '';
    if (!byName.has(name)) byName.set(name, compute(schema, document, operationName));
    return byName.get(name)!;
  };
}

/**
 * Refuses the whole operation when it selects, below the top level, a root field the
 * principal may not call (nested-root-fields.ts): the access policy's own refusal (FORBIDDEN,
 * or UNAUTHENTICATED without a credential) at that field's path, and nothing sent to any
 * upstream. An upstream's field by its permission; one of keygate's by its authScopes, as the
 * schema view reads them: its resolver would refuse it only after the upstream had run the
 * mutation whose payload selects it.
 */
function assertMayCallNested(schema: GraphQLSchema, principal: Principal, nested: readonly NestedRootField[]): void {
  for (const { typeName, fieldName, path } of nested) {
    const served = upstreamFieldPermission(typeName, fieldName);
    if (served) {
      if (mayCallUpstream(principal, served.upstream, typeName, fieldName)) continue;
      try {
        assertCanCallUpstream(principal, served.upstream, typeName, fieldName);
      } catch (error) {
        const refusal = error as GraphQLError;
        throw new GraphQLError(refusal.message, { path, extensions: refusal.extensions });
      }
    }
    if (mayCallRootField(schema, principal, typeName, fieldName)) continue;
    const refusal = principal.kind === 'ANONYMOUS' ? unauthenticated('MISSING') : forbidden(`You may not call ${typeName}.${fieldName}.`);
    throw new GraphQLError(refusal.message, { path, extensions: refusal.extensions });
  }
}

/**
 * With data, an error without a path goes to each root field that answered null (the one it
 * failed, as stitching places it), or to the first root field when none did.
 */
function atNullRootFields(errors: readonly GraphQLError[], data: Record<string, unknown>, route: Route): GraphQLError[] {
  const failed = route.answers.filter(({ key }) => data[key] == null).map(({ key }) => key);
  const keys = failed.length > 0 ? failed : route.answers.slice(0, 1).map(({ key }) => key);
  return errors.flatMap((error) => (error.path ? [error] : keys.map((key) => new GraphQLError(error.message, { path: [key], extensions: error.extensions }))));
}

/**
 * Without data (a transport failure, or the upstream's null), errors without a path are
 * answered as stitching answers them, since it delegates each root field on its own: each
 * field gets the error at its own path and is null, or data is null once a field that may not
 * be null failed (a mutation's later fields then never ran). A path-less error would read as
 * the whole request's, as keygate's own refusals are (the credential throttle counts those).
 */
function withRootFieldPaths(result: ExecutionResult, route: Route): ExecutionResult {
  if (!result.errors?.some((error) => !error.path)) return result;
  if (result.data != null) return { ...result, errors: atNullRootFields(result.errors, result.data, route) };
  const pathless = result.errors.filter((error) => !error.path);
  const errors: GraphQLError[] = result.errors.filter((error) => error.path);
  const data: Record<string, null> = {};
  let dataLost = false;
  for (const { key, nullable } of route.answers) {
    for (const error of pathless) errors.push(new GraphQLError(error.message, { path: [key], extensions: error.extensions }));
    if (nullable) {
      data[key] = null;
      continue;
    }
    dataLost = true;
    if (route.typeName === 'Mutation') break;
  }
  return { data: dataLost ? null : data, errors };
}

/** The one upstream serving every root field of the operation, or null when stitching must plan it. */
function plan(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  routes: UpstreamRoutes,
  nested: readonly NestedRootField[],
): Route | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  // The document goes as it is: with other operations in it (keygate's signIn with its
  // password, say), the upstream would read them too. Stitching sends the chosen fields only.
  if (operations.length !== 1) return null;
  const operation = operations[0]!;
  if ((operationName && operation.name?.value !== operationName) || operation.operation === 'subscription') return null;
  const typeName = operation.operation === 'query' ? 'Query' : 'Mutation';
  const rootType = typeName === 'Query' ? schema.getQueryType() : schema.getMutationType();
  let route: Route | null = null;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length) return null;
    const served = routes.get(`${typeName}.${(selection as FieldNode).name.value}`);
    if (!served || (route && route.upstream !== served.upstream)) return null;
    route ??= { ...served, typeName, fields: [], answers: [] };
    route.fields.push(selection.name.value);
    const key = selection.alias?.value ?? selection.name.value;
    const field = rootType?.getFields()[selection.name.value];
    if (!route.answers.some((answer) => answer.key === key)) route.answers.push({ key, nullable: !!field && !isNonNullType(field.type) });
  }
  // Root fields below the top level (a Relay payload's `query { … }`) may be keygate's or
  // another upstream's: stitching sends each where it belongs.
  return route && nested.length === 0 ? route : null;
}
