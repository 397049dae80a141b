/**
 * How the console words API errors (console/src/errors.ts): a field's error next to its
 * field when the form has it, the rest on top, and a rate limit with when to try again.
 */
import { CombinedError } from 'urql';
import { describe, expect, it } from 'vitest';
import { errorText, formErrors } from '../../console/src/errors.js';

const failure = (...errors: { message: string; extensions?: Record<string, unknown> }[]) => new CombinedError({ graphQLErrors: errors });

describe('console error wording', () => {
  it('puts a field’s error under that field, without repeating its name', () => {
    expect(formErrors(failure({ message: 'name: must be at least 2 characters', extensions: { code: 'BAD_USER_INPUT', field: 'name' } }), ['name'])).toEqual({
      fields: { name: 'Must be at least 2 characters' },
      general: null,
    });
  });

  it('puts an error naming a field the form does not have on top, never nowhere', () => {
    const revoked = failure({ message: 'id: the key is revoked; revoked keys cannot be edited', extensions: { code: 'BAD_USER_INPUT', field: 'id' } });
    expect(formErrors(revoked, ['name', 'description'])).toEqual({ fields: {}, general: 'The key is revoked; revoked keys cannot be edited' });
    expect(errorText(revoked)).toBe('The key is revoked; revoked keys cannot be edited');
  });

  it('says when a rate-limited request may be tried again', () => {
    expect(errorText(failure({ message: 'Too many requests.', extensions: { code: 'RATE_LIMITED', retryAfter: 42 } }))).toBe('Too many requests. Try again in 42 seconds.');
    expect(errorText(failure({ message: 'Too many requests.', extensions: { code: 'RATE_LIMITED', retryAfter: 842 } }))).toBe('Too many requests. Try again in 15 minutes.');
    expect(errorText(failure({ message: 'Missing permission users:manage.', extensions: { code: 'FORBIDDEN' } }))).toBe('Missing permission users:manage.');
  });
});
