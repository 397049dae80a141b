/**
 * The in-memory cost-budget counter (src/modules/key-controls/budget-windows.ts): a fixed
 * window per key from its first spend, refusals spend nothing, expired windows start afresh
 * and are swept. Budgets through the API, on memory and on Redis, are in
 * test/integration/key-controls/budgets-and-views.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BudgetWindows } from '../../src/modules/key-controls/budget-windows.js';

const budget = { points: 10, windowSeconds: 60 };

describe('BudgetWindows', () => {
  it('spends within the window until the points run out; a refusal spends nothing', () => {
    const windows = new BudgetWindows();
    expect(windows.spend('k', budget, 4, 1_000)).toEqual({ allowed: true, remaining: 6, msBeforeNext: 60_000 });
    expect(windows.spend('k', budget, 6, 31_000)).toEqual({ allowed: true, remaining: 0, msBeforeNext: 30_000 });
    expect(windows.spend('k', budget, 1, 32_000)).toEqual({ allowed: false, remaining: 0, msBeforeNext: 29_000 });
    expect(windows.peek('k', budget, 32_000)).toEqual({ remaining: 0, msBeforeNext: 29_000 });
  });

  it('an operation larger than what is left is refused and leaves the rest for smaller ones', () => {
    const windows = new BudgetWindows();
    windows.spend('k', budget, 7, 0);
    expect(windows.spend('k', budget, 5, 1).allowed).toBe(false);
    expect(windows.spend('k', budget, 3, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a new window starts once the old one ends, and keys count apart', () => {
    const windows = new BudgetWindows();
    windows.spend('k', budget, 10, 0);
    expect(windows.spend('other', budget, 10, 0).allowed).toBe(true);
    expect(windows.spend('k', budget, 1, 59_999).allowed).toBe(false);
    expect(windows.spend('k', budget, 1, 60_000)).toEqual({ allowed: true, remaining: 9, msBeforeNext: 60_000 });
    expect(windows.peek('never', budget, 0)).toEqual({ remaining: 10, msBeforeNext: 60_000 });
  });

  it('drops expired windows as new ones open, so memory follows the keys in use', () => {
    const windows = new BudgetWindows();
    for (let n = 0; n < 10_000; n++) windows.spend(`old-${n}`, budget, 1, 0);
    for (let n = 0; n < 10_000; n++) windows.spend(`new-${n}`, budget, 1, 120_000);
    expect((windows as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThan(20_000);
    expect(windows.peek('new-1', budget, 120_000).remaining).toBe(9);
  });
});
