/**
 * CSRF prevention and CORS (src/security/csrf.ts, cors.ts). A request a browser would send
 * cross-site without a preflight (GET, or a form/text body) is refused unless it carries a
 * header such a request cannot have; JSON POSTs and requests with a credential header work
 * as before. CORS origins come from KEYGATE_CORS_ORIGINS, never with credentials.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { app } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { appWith, raw } from './support.js';

const viewerUrl = `/graphql?query=${encodeURIComponent('{ viewer { kind } }')}`;

async function bodyOf(response: Response) {
  return (await response.json()) as { data?: { viewer?: { kind: string } }; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('CSRF prevention', () => {
  it('a GET without a CSRF or credential header is refused with 403 CSRF_HEADER_REQUIRED', async () => {
    const response = await raw(app, { method: 'GET', path: viewerUrl, body: null });
    expect(response.status).toBe(403);
    const body = await bodyOf(response);
    expect(body.errors![0]!.extensions?.code).toBe('CSRF_HEADER_REQUIRED');
    expect(body.data ?? null).toBeNull();
  });

  it('a GET with the x-graphql-yoga-csrf header is served', async () => {
    const response = await raw(app, { method: 'GET', path: viewerUrl, body: null, headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(200);
    expect((await bodyOf(response)).data?.viewer?.kind).toBe('ANONYMOUS');
  });

  it('a GET with X-Api-Key or Authorization is served (neither can be sent cross-site without a preflight)', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const withKey = await raw(app, { method: 'GET', path: viewerUrl, body: null, headers: { 'x-api-key': key.secret } });
    expect((await bodyOf(withKey)).data?.viewer?.kind).toBe('API_KEY');
    const withToken = await raw(app, { method: 'GET', path: viewerUrl, body: null, headers: { authorization: `Bearer ${seed.member.token}` } });
    expect((await bodyOf(withToken)).data?.viewer?.kind).toBe('SESSION');
  });

  it.each([
    ['text/plain', JSON.stringify({ query: '{ viewer { kind } }' })],
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent('{ viewer { kind } }')}`],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ viewer { kind } }"}\r\n--x--\r\n'],
  ])('a POST with a form-like body (%s) is refused', async (contentType, body) => {
    const response = await raw(app, { body, headers: { 'content-type': contentType } });
    expect(response.status).toBe(403);
    expect((await bodyOf(response)).errors![0]!.extensions?.code).toBe('CSRF_HEADER_REQUIRED');
  });

  it('a JSON POST needs no extra header', async () => {
    const response = await raw(app, { body: JSON.stringify({ query: '{ viewer { kind } }' }) });
    expect(response.status).toBe(200);
    expect((await bodyOf(response)).data?.viewer?.kind).toBe('ANONYMOUS');
  });

  it('a mutation over GET is refused even with the header', async () => {
    const path = `/graphql?query=${encodeURIComponent('mutation { signOut }')}`;
    const response = await raw(app, { method: 'GET', path, body: null, headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(405);
  });
});

describe('CORS', () => {
  const preflight = (target: ReturnType<typeof appWith>, origin: string) =>
    raw(target, {
      method: 'OPTIONS',
      body: null,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-api-key' },
    });

  it('by default no origin is allowed: no CORS headers, on preflight or response', async () => {
    const instance = appWith({ corsOrigins: [] });
    const answer = await preflight(instance, 'https://evil.example');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const response = await raw(instance, { body: JSON.stringify({ query: '{ viewer { kind } }' }), headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('listed origins are allowed, with the credential headers and without cookies; others are not', async () => {
    const instance = appWith({ corsOrigins: ['https://app.example.com', 'https://admin.example.com'] });

    const allowed = await preflight(instance, 'https://admin.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-api-key');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();

    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const served = await raw(instance, { body: JSON.stringify({ query: '{ viewer { kind } }' }), headers: { origin: 'https://app.example.com' } });
    expect(served.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(served.headers.get('access-control-expose-headers')).toBe('RateLimit, RateLimit-Policy, Retry-After');
    expect(served.headers.get('vary')).toMatch(/\bOrigin\b/);

    // Any other origin gets no CORS header at all; "null" (a sandboxed iframe, a data: page) neither.
    for (const origin of ['https://evil.example', 'null']) {
      const refused = await preflight(instance, origin);
      expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
      const response = await raw(instance, { body: JSON.stringify({ query: '{ viewer { kind } }' }), headers: { origin } });
      expect(response.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(response.headers.get('vary'), origin).toMatch(/\bOrigin\b/);
    }
  });

  it('* allows any origin, still without credentials', async () => {
    const instance = appWith({ corsOrigins: ['*'] });
    const answer = await preflight(instance, 'https://anywhere.example');
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://anywhere.example');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('KEYGATE_CORS_ORIGINS is validated: a URL with a path is refused naming the setting', () => {
    expect(loadConfig({ KEYGATE_CORS_ORIGINS: 'https://app.example.com, *' }).corsOrigins).toEqual(['https://app.example.com', '*']);
    expect(() => loadConfig({ KEYGATE_CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/KEYGATE_CORS_ORIGINS/);
    expect(() => loadConfig({ KEYGATE_CORS_ORIGINS: 'app.example.com' })).toThrow(/KEYGATE_CORS_ORIGINS/);
  });
});
