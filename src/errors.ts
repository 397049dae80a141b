/**
 * The errors a client is meant to handle, each with `extensions.code` (product.md §4).
 * They are GraphQLErrors, so Yoga's masking lets them through; anything else thrown in a
 * resolver is masked as "Unexpected error." and logged server-side.
 */
import { GraphQLError } from 'graphql';

export type UnauthenticatedReason = 'INVALID' | 'EXPIRED' | 'REVOKED' | 'MISSING';

/** A present but bad credential: fails the whole request with HTTP 401. */
export function unauthenticated(reason: UnauthenticatedReason, message = defaultMessage(reason)) {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', reason, http: { status: reason === 'MISSING' ? 200 : 401 } },
  });
}

function defaultMessage(reason: UnauthenticatedReason): string {
  switch (reason) {
    case 'MISSING':
      return 'You must be signed in or send an API key.';
    case 'EXPIRED':
      return 'The credential has expired.';
    case 'REVOKED':
      return 'The API key has been revoked.';
    case 'INVALID':
      return 'The credential is not valid.';
  }
}

export function forbidden(message = 'You are not allowed to do this.', http?: number) {
  return new GraphQLError(message, {
    extensions: { code: 'FORBIDDEN', ...(http ? { http: { status: http } } : {}) },
  });
}

/** Also used for objects of another tenant, so that their existence never leaks. */
export function notFound(what: string) {
  return new GraphQLError(`${what} not found.`, { extensions: { code: 'NOT_FOUND' } });
}

/** A write whose parent (a workspace, a project, an organization) was deleted by another request at once. */
export function deletedMeanwhile() {
  return new GraphQLError('What this refers to was deleted meanwhile: nothing was written.', { extensions: { code: 'NOT_FOUND' } });
}

export function badInput(field: string, message: string) {
  return new GraphQLError(`${field}: ${message}`, { extensions: { code: 'BAD_USER_INPUT', field } });
}

/** `active` may exceed `limit`: a limit lowered below the keys a tenant already had. */
export function keyLimitReached(limit: number, active: number) {
  const keys = `${active} active API key${active === 1 ? '' : 's'}`;
  return new GraphQLError(`The tenant has ${keys}; its limit is ${limit}. Revoke a key or raise the limit.`, {
    extensions: { code: 'KEY_LIMIT_REACHED', limit },
  });
}

export function rateLimited(retryAfterSeconds: number) {
  return new GraphQLError('Too many requests.', {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter: retryAfterSeconds,
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    },
  });
}

export function serviceUnavailable() {
  return new GraphQLError('The service is temporarily unavailable. Try again shortly.', {
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'Retry-After': '5' } } },
  });
}
