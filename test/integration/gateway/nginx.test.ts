/**
 * Forward authentication end to end: a real Nginx (Debian's package, installed by .ci/run)
 * with `auth_request` pointing at keygate's /auth/verify, in front of a small HTTP service.
 * Nginx runs as a child process with its own prefix, config and port; under CI a missing
 * nginx fails the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { createLogger } from '../../../src/lib/logger.js';
import { executeWith } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { closeServer, listen, serveKeygate, type Gateway } from './support.js';

const NGINX = process.env.KEYGATE_NGINX ?? '/usr/sbin/nginx';
const nginxMissing = !existsSync(NGINX);
if (nginxMissing && process.env.CI === 'true') {
  throw new Error(`nginx not found at ${NGINX}: install Debian's nginx (apt-get install -y --no-install-recommends nginx; .ci/run does it) or set KEYGATE_NGINX`);
}

type Seen = { url: string; headers: Record<string, string | string[] | undefined> };

let keygate: Gateway;
let service: ReturnType<typeof createServer>;
let nginx: ChildProcess;
let nginxUrl: string;
let prefix: string;
const seen: Seen[] = [];

/** A port free now, for nginx (it cannot report one it picked itself). */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await closeServer(probe);
  return port;
}

function nginxConfig(port: number, servicePort: number, keygatePort: number): string {
  const verify = (name: string, query: string) => `
    location = /_keygate_${name} {
      internal;
      proxy_pass http://127.0.0.1:${keygatePort}/auth/verify${query};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }`;
  const protectedLocation = (location: string, check: string) => `
    location ${location} {
      auth_request /_keygate_${check};
      auth_request_set $keygate_principal $upstream_http_x_keygate_principal;
      auth_request_set $keygate_tenant $upstream_http_x_keygate_tenant_id;
      auth_request_set $keygate_key $upstream_http_x_keygate_key_id;
      auth_request_set $keygate_user $upstream_http_x_keygate_user_id;
      # Set whether keygate answered them or not: an empty value drops a header the client sent.
      proxy_set_header X-Keygate-Principal $keygate_principal;
      proxy_set_header X-Keygate-Tenant-Id $keygate_tenant;
      proxy_set_header X-Keygate-Key-Id $keygate_key;
      proxy_set_header X-Keygate-User-Id $keygate_user;
      # The service trusts the principal token; the caller's credential stops here.
      proxy_set_header X-Api-Key "";
      proxy_set_header Authorization "";
      proxy_pass http://127.0.0.1:${servicePort};
    }`;
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    ${protectedLocation('/', 'verify')}
    ${protectedLocation('/admin/', 'verify_manage')}
    ${verify('verify', '')}
    ${verify('verify_manage', '?permission=projects:manage')}
  }
}`;
}

async function startNginx() {
  prefix = mkdtempSync(path.join(tmpdir(), 'keygate-nginx-'));
  mkdirSync(path.join(prefix, 'tmp'));
  const port = await freePort();
  const servicePort = (service.address() as { port: number }).port;
  const keygatePort = Number(new URL(keygate.url).port);
  writeFileSync(path.join(prefix, 'nginx.conf'), nginxConfig(port, servicePort, keygatePort));
  nginx = spawn(NGINX, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr!.on('data', (chunk) => (stderr += chunk));
  nginxUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readLog()}`);
    const up = await fetch(`${nginxUrl}/`).then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not start: ${stderr}${readLog()}`);
}

function readLog(): string {
  const file = path.join(prefix, 'error.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

describe.skipIf(nginxMissing)('Nginx auth_request in front of an HTTP service', () => {
  beforeAll(async () => {
    service = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'text/plain');
      res.end(`hello ${req.url}`);
    });
    await listen(service);
    keygate = await serveKeygate(async () =>
      createApp({ config: loadConfig({ ...process.env, KEYGATE_TRUSTED_PROXIES: '127.0.0.1' }), logger: createLogger('silent') }),
    );
    await startNginx();
  });

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await Promise.all([keygate && keygate.close(), service && closeServer(service)]);
  });

  it('no credential: 401 from Nginx, the service is not reached', async () => {
    const before = seen.length;
    const response = await fetch(`${nginxUrl}/orders`);
    expect(response.status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('a valid key: the service gets the request with a principal token it verifies against the JWKS, and no key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const response = await fetch(`${nginxUrl}/orders?page=2`, { headers: { 'x-api-key': key.secret } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello /orders?page=2');
    const request = seen.at(-1)!;
    expect(request.headers['x-api-key']).toBeUndefined();
    expect(request.headers['x-keygate-tenant-id']).toBe(seed.tenant.id);
    expect(request.headers['x-keygate-key-id']).toBe(key.id);
    const jwks = createRemoteJWKSet(new URL(`${keygate.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(request.headers['x-keygate-principal']), jwks, { issuer: 'keygate', algorithms: ['EdDSA'] });
    expect(payload).toMatchObject({ sub: `key:${key.id}`, tenantId: seed.tenant.id });
    await keygate.app.lastUsed.flush();
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedIp).toBe('127.0.0.1');
  });

  it('a location that needs a permission the key lacks: 403', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const before = seen.length;
    expect((await fetch(`${nginxUrl}/admin/settings`, { headers: { 'x-api-key': key.secret } })).status).toBe(403);
    expect(seen.length).toBe(before);
    // A tenant administrator's session holds it.
    expect((await fetch(`${nginxUrl}/admin/settings`, { headers: { authorization: `Bearer ${seed.admin.token}` } })).status).toBe(200);
  });

  it('identity headers the client sends itself never reach the service: keygate’s replace them, or none', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const forged = { 'x-keygate-principal': 'forged', 'x-keygate-tenant-id': 'forged', 'x-keygate-key-id': 'forged', 'x-keygate-user-id': 'forged' };
    expect((await fetch(`${nginxUrl}/orders`, { headers: { ...forged, 'x-api-key': key.secret } })).status).toBe(200);
    expect(seen.at(-1)!.headers).toMatchObject({ 'x-keygate-tenant-id': seed.tenant.id, 'x-keygate-key-id': key.id });
    expect(seen.at(-1)!.headers['x-keygate-user-id']).toBeUndefined();
    expect((await fetch(`${nginxUrl}/orders`, { headers: { ...forged, authorization: `Bearer ${seed.admin.token}` } })).status).toBe(200);
    expect(seen.at(-1)!.headers).toMatchObject({ 'x-keygate-tenant-id': seed.tenant.id, 'x-keygate-user-id': seed.admin.user.id });
    expect(seen.at(-1)!.headers['x-keygate-key-id']).toBeUndefined();
    expect(seen.at(-1)!.headers['x-keygate-principal']).not.toBe('forged');
  });

  it('a revoked key: 401 at once', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await fetch(`${nginxUrl}/orders`, { headers: { 'x-api-key': key.secret } })).status).toBe(200);
    await executeWith(keygate.app, `mutation ($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: key.id }, { token: seed.admin.token });
    expect((await fetch(`${nginxUrl}/orders`, { headers: { 'x-api-key': key.secret } })).status).toBe(401);
  });
});
