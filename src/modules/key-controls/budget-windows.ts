/**
 * Cost budgets counted in process memory, synchronously: the store when keygate runs without
 * Redis (one instance counts alone). rate-limiter-flexible's memory limiter, which counts the
 * rate limits, answers every spend through a promise; on a budgeted request that hop ran
 * through envelop's and Yoga's promise helpers and cost ~13 % of the request's CPU
 * (README "Performance"), while the counting itself is a map lookup and an addition. With
 * Redis, budgets stay on rate-limiter-flexible so that every instance spends from one counter.
 *
 * The same semantics as the limiter: a fixed window per key and budget that starts with the
 * key's first priced operation; an operation that does not fit is refused and spends nothing.
 */
import type { CostBudget } from './cost-budget.js';

/** What a window needs of a budget (its edition is in the key already). */
type Allowance = Pick<CostBudget, 'points' | 'windowSeconds'>;

export type Spent = { allowed: boolean; remaining: number; msBeforeNext: number };

type Window = { spent: number; endsAt: number };

/** Expired windows are dropped when this many were opened since the last sweep. */
const SWEEP_EVERY = 10_000;

export class BudgetWindows {
  private readonly windows = new Map<string, Window>();
  private openedSinceSweep = 0;

  /** Spends `points` of `key`'s window under `budget` if they fit. */
  spend(key: string, budget: Allowance, points: number, now = Date.now()): Spent {
    const window = this.current(key, now) ?? this.open(key, budget, now);
    const allowed = window.spent + points <= budget.points;
    if (allowed) window.spent += points;
    return { allowed, remaining: Math.max(0, budget.points - window.spent), msBeforeNext: window.endsAt - now };
  }

  /** What is left without spending (a full budget when no window is open). */
  peek(key: string, budget: Allowance, now = Date.now()): Omit<Spent, 'allowed'> {
    const window = this.current(key, now);
    return window
      ? { remaining: Math.max(0, budget.points - window.spent), msBeforeNext: window.endsAt - now }
      : { remaining: budget.points, msBeforeNext: budget.windowSeconds * 1000 };
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    return window && window.endsAt > now ? window : undefined;
  }

  private open(key: string, budget: Allowance, now: number): Window {
    if (++this.openedSinceSweep >= SWEEP_EVERY) this.sweep(now);
    const window = { spent: 0, endsAt: now + budget.windowSeconds * 1000 };
    this.windows.set(key, window);
    return window;
  }

  private sweep(now: number): void {
    this.openedSinceSweep = 0;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}
