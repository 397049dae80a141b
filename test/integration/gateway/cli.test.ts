/**
 * Gateway mode from the command line: `keygate rotate-signing-key`, and `keygate serve`
 * stopping with one line when an upstream is unreachable or production has no way to keep
 * the signing key secret.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db.js';
import { freePort } from '../hardening/server-process.js';
import { afterTest, ownDatabaseUrl, runKeygate, stderrLines } from '../cli/cli-process.js';
import { closeServer, listen, upstreamsFile } from './support.js';

/** Each test runs keygate as a process (tsx start-up included) up to three times. */
const PROCESS_TEST_TIMEOUT_MS = 120_000;

const SECRET = 'cli-test-signing-key-secret-of-32-chars';

describe('keygate rotate-signing-key', () => {
  it('retires the current key for a new one; both are kept, the new one unretired', async () => {
    const databaseUrl = ownDatabaseUrl();
    expect((await runKeygate(['migrate'], { DATABASE_URL: databaseUrl })).code).toBe(0);
    const first = await runKeygate(['rotate-signing-key'], { DATABASE_URL: databaseUrl, KEYGATE_SIGNING_KEY_SECRET: SECRET });
    expect(first.code).toBe(0);
    const second = await runKeygate(['rotate-signing-key'], { DATABASE_URL: databaseUrl, KEYGATE_SIGNING_KEY_SECRET: SECRET });
    expect(second.stdout).toMatch(/^keygate: principal tokens are now signed with key \S+ \(running instances switch within 90 s\); 1 retired key\(s\) stay listed for \d+ s\.\n$/);
    const store = createDb(databaseUrl);
    afterTest(() => store.$disconnect());
    const rows = await store.signingKey.findMany({ orderBy: { createdAt: 'asc' } });
    expect(rows).toHaveLength(2);
    expect(rows[0]!.retiredAt).not.toBeNull();
    expect(rows[1]!.retiredAt).toBeNull();
    expect(second.stdout).toContain(rows[1]!.id);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('keygate serve in gateway mode', () => {
  it('an unreachable upstream stops the start with one line', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const file = upstreamsFile([{ name: 'shop', url: `http://127.0.0.1:${port}/graphql` }]);
    // Fails before listening: the port is never taken.
    const result = await runKeygate(['serve'], { DATABASE_URL: ownDatabaseUrl(), PORT: String(port), KEYGATE_UPSTREAMS: file, KEYGATE_ADMIN_PASSWORD: 'a-long-admin-password' });
    expect(result.code).toBe(1);
    expect(stderrLines(result)).toEqual([
      `keygate: upstream "shop" at http://127.0.0.1:${port}/graphql: cannot load its schema by introspection (unreachable); start it, or give its SDL as "schema" in KEYGATE_UPSTREAMS`,
    ]);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('production with upstreams but neither KEYGATE_SIGNING_KEY nor KEYGATE_SIGNING_KEY_SECRET stops with one line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-sdl-'));
    writeFileSync(path.join(dir, 'shop.graphql'), 'type Query { shopThing: String }');
    writeFileSync(path.join(dir, 'upstreams.json'), JSON.stringify({ upstreams: [{ name: 'shop', url: 'http://127.0.0.1:9/graphql', schema: 'shop.graphql' }] }));
    const result = await runKeygate(['serve'], {
      NODE_ENV: 'production',
      DATABASE_URL: ownDatabaseUrl(),
      PORT: String(await freePort()),
      KEYGATE_UPSTREAMS: path.join(dir, 'upstreams.json'),
      KEYGATE_ADMIN_PASSWORD: 'a-long-admin-password',
      // Required in production on PostgreSQL, and checked first: this case is about the signing key.
      KEYGATE_WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(result.code).toBe(1);
    expect(stderrLines(result)).toEqual(['keygate: principal tokens need KEYGATE_SIGNING_KEY, or KEYGATE_SIGNING_KEY_SECRET to encrypt the key kept in the database']);
  }, PROCESS_TEST_TIMEOUT_MS);
});
