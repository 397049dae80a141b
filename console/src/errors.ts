/** API errors as the forms show them: `extensions.field` next to its field, the rest on top. */
import type { CombinedError } from 'urql';

export type FormErrors = { fields: Record<string, string>; general: string | null };

export const NO_ERRORS: FormErrors = { fields: {}, general: null };

export function formErrors(error: CombinedError | undefined): FormErrors {
  if (!error) return NO_ERRORS;
  const fields: Record<string, string> = {};
  const general: string[] = [];
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    if (typeof field === 'string') {
      // keygate writes "field: message"; the field's label already says which.
      fields[field] = e.message.startsWith(`${field}: `) ? capitalize(e.message.slice(field.length + 2)) : e.message;
    } else {
      general.push(e.message + whenToRetry(e.extensions?.retryAfter));
    }
  }
  if (error.networkError) general.push('keygate could not be reached. Try again.');
  return { fields, general: general.length ? general.join(' ') : null };
}

export function errorText(error: CombinedError | undefined): string | null {
  const { fields, general } = formErrors(error);
  return [general, ...Object.values(fields)].filter(Boolean).join(' ') || null;
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
