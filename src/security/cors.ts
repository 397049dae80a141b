/**
 * CORS: which browser origins may call the API (KEYGATE_CORS_ORIGINS). keygate's credentials
 * are headers, never cookies, so no origin is ever allowed credentials; the list decides
 * only which web apps may read responses. Empty (the default) allows no cross-origin
 * browser access at all; `*` allows any origin.
 */
import type { YogaServerOptions } from 'graphql-yoga';

type CorsOption = YogaServerOptions<Record<string, unknown>, Record<string, unknown>>['cors'];

export function corsOptions(origins: readonly string[]): CorsOption {
  // Yoga's default (no option) would reflect any origin with credentials allowed.
  if (origins.length === 0) return false;
  return {
    origin: origins.includes('*') ? ['*'] : [...origins],
    credentials: false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-workspace-id', 'x-graphql-yoga-csrf'],
    maxAge: 600,
  };
}
