/**
 * A cross-tenant principal (a platform administrator, an ADMIN key) picks the tenant a root
 * field acts in with its `tenantId` argument. One that names no tenant is `NOT_FOUND`, as any
 * unknown id is: the lists would otherwise answer it as a tenant with nothing in it, and a
 * mistyped id would read as "this tenant has no users". Checked once per operation, before
 * it runs, for the root fields' `tenantId` arguments (literal or variable); others' tenants
 * are refused by actingTenantId already.
 */
import { getOperationAST, GraphQLError, Kind, type DocumentNode, type FieldNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { db } from '../db.js';
import { notFound } from '../errors.js';
import type { Principal } from './principal.js';

export function useActingTenantCheck(): Plugin<{ auth?: Principal }> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const principal = (args.contextValue as { auth?: Principal }).auth;
      if (!principal || principal.kind === 'ANONYMOUS' || !principal.crossTenant) return;
      const named = tenantArguments(args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>);
      if (named.length === 0) return;
      const ids = [...new Set(named.map(({ tenantId }) => tenantId))];
      const found = new Set((await db.tenant.findMany({ where: { id: { in: ids } }, select: { id: true } })).map(({ id }) => id));
      const unknown = named.find(({ tenantId }) => !found.has(tenantId));
      if (!unknown) return;
      const refusal = notFound('Tenant');
      setResultAndStopExecution({ data: null, errors: [new GraphQLError(refusal.message, { path: [unknown.responseKey], extensions: refusal.extensions })] });
    },
  };
}

/** The root fields' `tenantId` arguments that name a tenant other than none. */
function tenantArguments(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>) {
  const operation = getOperationAST(document, operationName);
  const named: { responseKey: string; tenantId: string }[] = [];
  for (const field of operation?.selectionSet.selections.filter((selection): selection is FieldNode => selection.kind === Kind.FIELD) ?? []) {
    const argument = field.arguments?.find((candidate) => candidate.name.value === 'tenantId');
    const value = argument?.value.kind === Kind.STRING ? argument.value.value : argument?.value.kind === Kind.VARIABLE ? variables[argument.value.name.value] : undefined;
    if (typeof value === 'string' && value !== '') named.push({ responseKey: field.alias?.value ?? field.name.value, tenantId: value });
  }
  return named;
}
