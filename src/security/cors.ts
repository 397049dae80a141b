/**
 * CORS: which browser origins may call the API (KEYGATE_CORS_ORIGINS). keygate's credentials
 * are headers, never cookies, so no origin is ever allowed credentials; the list decides
 * only which web apps may read responses. Empty (the default) allows no cross-origin
 * browser access at all; `*` allows any origin.
 *
 * Decided per request: a listed origin is answered as itself, any other gets no CORS header
 * at all. (Given a list, Yoga answers an unlisted origin `Access-Control-Allow-Origin: null`,
 * which is exactly what a sandboxed iframe or a `data:` page sends as its Origin: any web page
 * could read the API through one.) Every answer varies by Origin, for caches.
 */
import type { Plugin, YogaServerOptions } from 'graphql-yoga';
import { IDEMPOTENCY_HEADER } from '../modules/webhook/idempotency.js';

type CorsOption = YogaServerOptions<Record<string, unknown>, Record<string, unknown>>['cors'];

const ALLOWED = {
  credentials: false,
  methods: ['GET', 'POST'],
  allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-workspace-id', 'x-graphql-yoga-csrf', IDEMPOTENCY_HEADER],
  // What a browser client needs to read to pace itself: cost budgets and rate limits.
  exposedHeaders: ['RateLimit', 'RateLimit-Policy', 'Retry-After'],
  maxAge: 600,
};

export function corsOptions(origins: readonly string[]): CorsOption {
  // Yoga's default (no option) would reflect any origin with credentials allowed.
  if (origins.length === 0) return false;
  const anyOrigin = origins.includes('*');
  const listed = new Set(origins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || (!anyOrigin && !listed.has(origin))) return false;
    return { ...ALLOWED, origin: [origin] };
  };
}

/** `Vary: Origin` on every answer while CORS is on: the same URL answers origins differently. */
export function useVaryByOrigin(origins: readonly string[]): Plugin[] {
  if (origins.length === 0) return [];
  return [
    {
      onResponse({ response }) {
        const vary = response.headers.get('vary');
        if (!vary?.split(',').some((name) => name.trim().toLowerCase() === 'origin')) response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
      },
    },
  ];
}
