/**
 * Limits on what one GraphQL operation may ask for, checked while parsing and validating,
 * before any resolver or database query runs (GraphQL Armor). Each stops a way of making
 * one cheap request expensive for the server:
 *
 * - tokens: a huge document costs parser time and memory before anything else can look at it;
 * - depth: nested relations (key → group → tenant → organizations → …) multiply queries;
 * - cost: wide selections and large `first:` pages multiply rows (priced by query-cost.ts,
 *   refused before execution by modules/key-controls/cost-budget.ts);
 * - aliases: one field asked 1000 times under different names (also a way of running many
 *   signIn guesses in one request);
 * - directives: repeated directives are a known parser/validator denial of service.
 *
 * A refused operation gets `extensions.code: QUERY_LIMIT_EXCEEDED`, `extensions.limit`
 * naming the limit and `extensions.max` its value, so a client can tell which one it met.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export type QueryLimits = {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
};

export type QueryLimitName = 'MAX_DEPTH' | 'MAX_COST' | 'MAX_ALIASES' | 'MAX_DIRECTIVES' | 'MAX_TOKENS';

export function queryLimitExceeded(limit: QueryLimitName, max: number, message: string) {
  return new GraphQLError(message, {
    extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit, max, http: { status: 400 } },
  });
}

/** `hideSuggestions` goes with introspection being off (see introspection.ts). */
export function useQueryLimits(limits: QueryLimits, { hideSuggestions }: { hideSuggestions: boolean }): Plugin {
  return EnvelopArmorPlugin({
    blockFieldSuggestion: { enabled: hideSuggestions, mask: '' },
    maxTokens: { n: limits.maxTokens, ...refuseWith('MAX_TOKENS', limits.maxTokens) },
    // Fragments add no level: a typed client's fragment-per-type layout is as deep as the fields it selects.
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...refuseWith('MAX_DEPTH', limits.maxDepth) },
    // The maximum cost is enforced with the cost budgets' model (query-cost.ts,
    // modules/key-controls/cost-budget.ts): Armor's estimate cannot be read back for pricing.
    costLimit: { enabled: false },
    maxAliases: { n: limits.maxAliases, ...refuseWith('MAX_ALIASES', limits.maxAliases) },
    maxDirectives: { n: limits.maxDirectives, ...refuseWith('MAX_DIRECTIVES', limits.maxDirectives) },
  }) as Plugin;
}

/**
 * Armor's own error is a code-less "Syntax Error: …". Validation rules report ours to the
 * validation context (so other validation errors still show); the token limit runs inside
 * the parser, which has no context, so there it is thrown and ends parsing at once.
 */
function refuseWith(limit: QueryLimitName, max: number) {
  const reject: GraphQLArmorRejectCallback = (validation, error) => {
    const refusal = queryLimitExceeded(limit, max, error.message.replace(/^Syntax Error: /, ''));
    if (!validation) throw refusal;
    validation.reportError(refusal);
  };
  return { exposeLimits: true, propagateOnRejection: false, onReject: [reject] };
}
