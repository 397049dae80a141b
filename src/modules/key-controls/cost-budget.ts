/**
 * Query-cost budgets per authorization group, and the per-operation maximum, priced by the
 * one cost model (security/query-cost.ts) before anything runs.
 *
 * A group's `costBudget { points windowSeconds }` gives each of its keys `points` per window
 * (a fixed window that starts with the key's first priced operation). Every operation of
 * such a key is priced and its cost spent atomically in the rate limits' store (memory, or
 * Redis when KEYGATE_REDIS_URL is set, so every instance spends from the same counter: an
 * INCRBY, so two instances cannot both spend the last points). An operation that does not
 * fit is refused before execution (HTTP 429 RATE_LIMITED, Retry-After) without spending: with
 * Redis the counter is read first, and an operation that fitted then but lost the last points
 * to another one meanwhile gives its points back, so a refusal does not eat the budget of
 * what would still fit.
 *
 * Every response to such a key carries `extensions.cost { requested remaining resetAt }`
 * and the IETF RateLimit-Policy / RateLimit headers (draft-ietf-httpapi-ratelimit-headers:
 * `"cost";q=<points>;w=<window>` and `"cost";r=<remaining>;t=<seconds to reset>`).
 *
 * Keys whose group has no budget pay one null check beyond the maximum's (cached) pricing.
 */
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ApiKeyPrincipal, Principal } from '../../auth/principal.js';
import type { Authenticator } from '../../auth/use-auth.js';
import type { Logger } from '../../lib/logger.js';
import type { LimiterStore } from '../../security/limiter-store.js';
import { operationCost } from '../../security/query-cost.js';
import { queryLimitExceeded } from '../../security/query-limits.js';
import { andThen } from '../../lib/maybe-promise.js';
import { coercedVariables } from '../../lib/variables.js';
import { BudgetWindows } from './budget-windows.js';
import { costBudgetExceeded } from './refusals.js';

export type CostBudget = { points: number; windowSeconds: number; edition: string };

/** What `extensions.cost` says. */
export type CostReport = { requested: number; remaining: number; resetAt: string };

/** A spend: the report clients read, made once, and the seconds until the window resets. */
type BudgetState = { report: CostReport; resetInSeconds: number };

type Spend = { state: BudgetState; allowed: boolean };

/** Where an operation's spend waits for its result, on the operation's GraphQL context. */
const OPERATION_COST = Symbol('keygate.operationCost');
type CostContext = { [OPERATION_COST]?: BudgetState };

export type CostControlsOptions = {
  maxCost: number;
  store: LimiterStore;
  logger: Logger;
  /** To find the principal of a response refused before execution (for its headers). */
  authenticator: Authenticator;
};

export function useCostControls({ maxCost, store, logger, authenticator }: CostControlsOptions): Plugin {
  const limiters = new Map<string, RateLimiterAbstract>();
  const lastState = new WeakMap<Request, BudgetState>();

  function limiterFor(budget: CostBudget): RateLimiterAbstract {
    // One counter family per budget: editing a group's budget starts its keys on a fresh window.
    const name = `cost:${budget.points}:${budget.windowSeconds}:${budget.edition}`;
    let limiter = limiters.get(name);
    if (!limiter) limiters.set(name, (limiter = store.create({ name, points: budget.points, durationSeconds: budget.windowSeconds })));
    return limiter;
  }

  /** Memory store: the synchronous counter (budget-windows.ts); Redis: rate-limiter-flexible, shared by instances. */
  const windows = store.shared ? null : new BudgetWindows();

  function windowKey(principal: ApiKeyPrincipal, budget: CostBudget): string {
    // Per budget: editing a group's budget starts its keys on a fresh window.
    return `${budget.points}:${budget.windowSeconds}:${budget.edition}:${principal.apiKey.id}`;
  }

  function spend(principal: ApiKeyPrincipal, budget: CostBudget, cost: number): Spend | Promise<Spend> {
    const points = Math.max(1, Math.ceil(cost));
    if (!windows) return spendShared(principal, budget, cost, points);
    const spent = windows.spend(windowKey(principal, budget), budget, points);
    return { state: stateOf(cost, spent.remaining, spent.msBeforeNext), allowed: spent.allowed };
  }

  async function spendShared(principal: ApiKeyPrincipal, budget: CostBudget, cost: number, points: number): Promise<Spend> {
    const limiter = limiterFor(budget);
    try {
      // Looked at before spending: an operation that cannot fit is refused without touching
      // the counter. Spent and then given back, its points were held for that moment, and
      // operations that did fit, arriving meanwhile, were refused with "0 remain".
      const before = await limiter.get(principal.apiKey.id);
      const remainingBefore = budget.points - (before?.consumedPoints ?? 0);
      if (points > remainingBefore) {
        return { state: stateOf(cost, Math.max(0, remainingBefore), before?.msBeforeNext ?? budget.windowSeconds * 1000), allowed: false };
      }
      const res = await limiter.consume(principal.apiKey.id, points);
      return { state: stateOf(cost, res.remainingPoints, res.msBeforeNext), allowed: true };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Both Redis and the in-memory insurance failed: budgets protect capacity, they are
        // not an access control, so the operation runs (as rate-limit.ts decides too).
        logger.warn('cost budget store failed; operation allowed', { error: rejection });
        return { state: stateOf(cost, budget.points, budget.windowSeconds * 1000), allowed: true };
      }
      // It fitted when looked at, but another operation spent the points meanwhile.
      await limiter.reward(principal.apiKey.id, points).catch(() => {});
      const remaining = Math.max(0, budget.points - (rejection.consumedPoints - points));
      return { state: stateOf(cost, remaining, rejection.msBeforeNext), allowed: false };
    }
  }

  /** What is left, nothing spent: synchronous with the memory store. */
  function currentState(principal: ApiKeyPrincipal, budget: CostBudget): BudgetState | Promise<BudgetState> {
    if (windows) {
      const left = windows.peek(windowKey(principal, budget), budget);
      return stateOf(0, left.remaining, left.msBeforeNext);
    }
    return limiterFor(budget)
      .get(principal.apiKey.id)
      .catch(() => null)
      .then((res) => stateOf(0, res ? Math.max(0, budget.points - res.consumedPoints) : budget.points, res ? res.msBeforeNext : budget.windowSeconds * 1000));
  }

  /**
   * Keeps the spend for the response's headers (per request: a batch's last) and for the
   * operation's `extensions.cost` (on its own context: each operation of a batch has one);
   * refuses the operation when it did not fit.
   */
  function settle(context: object, principal: ApiKeyPrincipal, { state, allowed }: Spend, stop: (result: ExecutionResult) => void): boolean {
    lastState.set((context as { request: Request }).request, state);
    (context as CostContext)[OPERATION_COST] = state;
    if (allowed) return true;
    stop({ errors: [costBudgetExceeded(principal, state.report, state.resetInSeconds)], extensions: { cost: state.report } });
    return false;
  }

  /** One hook object for every budgeted operation (no allocation per request): the spend is on the context. */
  const ADD_COST_EXTENSION = {
    onExecuteDone({ args, result, setResult }: { args: { contextValue: unknown }; result: unknown; setResult: (result: ExecutionResult) => void }) {
      const state = (args.contextValue as CostContext)[OPERATION_COST];
      // A subscription's events carry no cost: it was priced once, when it started.
      if (!state || !result || typeof result !== 'object' || Symbol.asyncIterator in result) return;
      // The result is this operation's own, fresh from execution: extended in place.
      const single = result as { extensions?: Record<string, unknown> };
      single.extensions = single.extensions ? { ...single.extensions, cost: state.report } : { cost: state.report };
      setResult(single as ExecutionResult);
    },
  };

  return {
    // Synchronous unless the key's budget is kept in Redis: the common request stays off the promise path.
    onExecute({ args, setResultAndStopExecution }) {
      const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues);
      if (cost > maxCost) {
        setResultAndStopExecution({ errors: [queryLimitExceeded('MAX_COST', maxCost, `Query Cost limit of ${maxCost} exceeded, found ${cost}.`)] });
        return;
      }
      const principal = (args.contextValue as { auth?: Principal }).auth;
      const budget = budgetOf(principal);
      if (!budget || variablesRefused(args)) return;
      const context = args.contextValue as object;
      const spent = spend(principal as ApiKeyPrincipal, budget, cost);
      if (!(spent instanceof Promise)) return settle(context, principal as ApiKeyPrincipal, spent, setResultAndStopExecution) ? ADD_COST_EXTENSION : undefined;
      return spent.then((shared) => (settle(context, principal as ApiKeyPrincipal, shared, setResultAndStopExecution) ? ADD_COST_EXTENSION : undefined));
    },
    // A subscription is priced once, when it starts (then its events are not re-priced).
    async onSubscribe({ args, setResultAndStopExecution }) {
      const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues);
      if (cost > maxCost) {
        setResultAndStopExecution({ errors: [queryLimitExceeded('MAX_COST', maxCost, `Query Cost limit of ${maxCost} exceeded, found ${cost}.`)] });
        return;
      }
      const principal = (args.contextValue as { auth?: Principal }).auth;
      const budget = budgetOf(principal);
      if (!budget || variablesRefused(args)) return;
      settle(args.contextValue as object, principal as ApiKeyPrincipal, await spend(principal as ApiKeyPrincipal, budget, cost), setResultAndStopExecution);
    },
    // Results no operation of which was priced (a document that does not parse or validate, one
    // over KEYGATE_MAX_COST) carry `extensions.cost` too, with nothing requested.
    onResultProcess({ request, result, setResult }) {
      const principal = authenticator.settled(request)?.auth;
      const budget = budgetOf(principal);
      if (!budget) return;
      const unpriced = (Array.isArray(result) ? result : [result]).filter(lacksCost);
      if (unpriced.length === 0) return;
      const withCost = (state: BudgetState) => {
        for (const single of unpriced) single.extensions = { ...single.extensions, cost: state.report };
        setResult(result);
      };
      return andThen(lastState.get(request) ?? currentState(principal as ApiKeyPrincipal, budget), withCost);
    },
    onResponse({ request, response }) {
      // Synchronous for every key without a budget: no promise per response.
      const settled = authenticator.settled(request);
      if (settled) return addHeaders(request, response, settled.auth);
      const answer = authenticator.peek(request);
      if (!answer) return;
      return answer.then((a) => a.auth, () => null).then((principal) => addHeaders(request, response, principal));
    },
  };

  /** Synchronous when the operation was priced (the common case); else the counter is read. */
  function addHeaders(request: Request, response: Response, principal: Principal | null): void | Promise<void> {
    const budget = budgetOf(principal);
    if (!budget) return;
    const priced = lastState.get(request);
    if (priced) return setRateLimitHeaders(response, budget, priced);
    return andThen(currentState(principal as ApiKeyPrincipal, budget), (state) => setRateLimitHeaders(response, budget, state));
  }
}

function setRateLimitHeaders(response: Response, budget: CostBudget, state: BudgetState): void {
  response.headers.set('RateLimit-Policy', `"cost";q=${budget.points};w=${budget.windowSeconds}`);
  response.headers.set('RateLimit', `"cost";r=${Math.floor(state.report.remaining)};t=${state.resetInSeconds}`);
}


/** A single result (not a stream) without `extensions.cost`. */
function lacksCost(result: unknown): result is { extensions?: Record<string, unknown> } {
  if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return false;
  return !(result as { extensions?: { cost?: unknown } }).extensions?.cost;
}

/**
 * Variables that execute will refuse (a string for an Int, a required one missing): nothing
 * runs, so nothing is spent, and the result reports `requested: 0` as for a document that
 * does not validate.
 */
function variablesRefused(args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }): boolean {
  return 'errors' in coercedVariables(args.schema, args.document, args.operationName, args.variableValues);
}

function budgetOf(principal: Principal | null | undefined): CostBudget | null {
  return principal?.kind === 'API_KEY' ? (principal.apiKey.controls?.costBudget ?? null) : null;
}

function stateOf(requested: number, remaining: number, msBeforeNext: number): BudgetState {
  const resetInSeconds = Math.max(0, Math.ceil(msBeforeNext / 1000));
  return { report: { requested, remaining: Math.max(0, remaining), resetAt: resetAtIso(Date.now() + Math.max(0, msBeforeNext)) }, resetInSeconds };
}

let lastResetSecond = -1;
let lastResetIso = '';

/** The reset time, rounded up to the second as `RateLimit`'s `t` is; formatted once per second, not per request. */
function resetAtIso(at: number): string {
  const second = Math.ceil(at / 1000);
  if (second !== lastResetSecond) {
    lastResetSecond = second;
    lastResetIso = new Date(second * 1000).toISOString();
  }
  return lastResetIso;
}

