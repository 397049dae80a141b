/** API errors as the forms show them: `extensions.field` next to its field, the rest on top. */
import type { CombinedError } from 'urql';

export type FormErrors = { fields: Record<string, string>; general: string | null };

export const NO_ERRORS: FormErrors = { fields: {}, general: null };

/**
 * `shownFields` are the fields the form has: an error naming one goes under it, any other
 * (`id`, when the key was revoked meanwhile) on top, so that no refusal goes unseen.
 */
export function formErrors(error: CombinedError | undefined, shownFields: readonly string[]): FormErrors {
  if (!error) return NO_ERRORS;
  const fields: Record<string, string> = {};
  const general: string[] = [];
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    // keygate writes "field: message"; the field's label (or the form, on top) already says which.
    const message = typeof field === 'string' && e.message.startsWith(`${field}: `) ? capitalize(e.message.slice(field.length + 2)) : e.message;
    if (typeof field === 'string' && shownFields.includes(field)) fields[field] = message;
    else general.push(message + whenToRetry(e.extensions?.retryAfter));
  }
  if (error.networkError) general.push('keygate could not be reached. Try again.');
  return { fields, general: general.length ? general.join(' ') : null };
}

export function errorText(error: CombinedError | undefined): string | null {
  return formErrors(error, []).general;
}

/** RATE_LIMITED carries `retryAfter` (seconds): say when, not only "too many". */
function whenToRetry(retryAfter: unknown): string {
  if (typeof retryAfter !== 'number' || retryAfter <= 0) return '';
  if (retryAfter >= 90) return ` Try again in ${Math.ceil(retryAfter / 60)} minutes.`;
  const seconds = Math.ceil(retryAfter);
  return ` Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
