/**
 * A failure the operator can fix. Its message is printed as it is, on one line after
 * `keygate: `, with no stack trace, so it must say what went wrong and what to do.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
