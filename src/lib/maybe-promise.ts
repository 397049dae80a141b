/**
 * `next(value)` at once when `value` is no promise, else once it resolves: a hot path whose
 * answer is usually in memory allocates no promise (/auth/verify, cost budgets' headers).
 */
export function andThen<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
