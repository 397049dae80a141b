/**
 * IP allowlists and the client address (product.md §2 "IP allowlist"): the socket's
 * address, unless trusted proxies are configured, and only then X-Forwarded-For.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { resolveClientAddress } from '../../../src/auth/use-auth.js';
import { db } from '../../../src/db.js';
import { parseAddressRange } from '../../../src/lib/ip.js';
import { graphql } from '../../gql/index.js';
import { app, errorOf, execute, executeWith, type Credentials, type Result } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';

const Viewer = graphql(`
  query KeyAuthAddressViewer {
    viewer {
      kind
    }
  }
`);

/** The same app behind a reverse proxy in 10.0.0.0/8: trusted proxies are read at createApp. */
const behindProxy = createApp({ config: { ...app.config, trustedProxies: [parseAddressRange('10.0.0.0/8')] } });

afterAll(() => behindProxy.lastUsed.flush());

function expectAccepted(result: Result<{ viewer: { kind: string } }>) {
  expect({ status: result.status, errors: result.errors, kind: result.data?.viewer.kind }).toEqual({
    status: 200,
    errors: undefined,
    kind: 'API_KEY',
  });
}

function expectWrongAddress(result: Result<unknown>) {
  expect(errorOf(result)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  expect(result.data).toBeUndefined();
}

async function keyAllowing(...ipAllowlist: string[]) {
  const seed = await seedTenant();
  return seed.createKey({ ipAllowlist });
}

const from = (apiKey: string, ip: string, forwardedFor?: string): Credentials => ({
  apiKey,
  ip,
  ...(forwardedFor ? { headers: { 'X-Forwarded-For': forwardedFor } } : {}),
});

describe('IP allowlist', () => {
  it('an IPv4 CIDR range admits addresses inside it and refuses the rest with HTTP 403', async () => {
    const key = await keyAllowing('203.0.113.0/24');
    expectAccepted(await execute(Viewer, {}, from(key.secret, '203.0.113.200')));
    expectWrongAddress(await execute(Viewer, {}, from(key.secret, '203.0.114.1')));
  });

  it('an IPv4 range also matches the IPv4-mapped IPv6 form a dual-stack socket reports', async () => {
    const key = await keyAllowing('203.0.113.0/24');
    expectAccepted(await execute(Viewer, {}, from(key.secret, '::ffff:203.0.113.9')));
    expectWrongAddress(await execute(Viewer, {}, from(key.secret, '::ffff:198.51.100.9')));
  });

  it('a range written in the IPv4-mapped IPv6 form is the IPv4 range it maps, for either form of client address', async () => {
    const key = await keyAllowing('::ffff:203.0.113.0/120');
    expectAccepted(await execute(Viewer, {}, from(key.secret, '203.0.113.9')));
    expectAccepted(await execute(Viewer, {}, from(key.secret, '::ffff:203.0.113.10')));
    expectWrongAddress(await execute(Viewer, {}, from(key.secret, '203.0.114.9')));
  });

  it('an IPv6 address admits exactly that address, however it is written', async () => {
    const key = await keyAllowing('2001:db8::1');
    expectAccepted(await execute(Viewer, {}, from(key.secret, '2001:db8::1')));
    expectAccepted(await execute(Viewer, {}, from(key.secret, '2001:0db8:0000:0000:0000:0000:0000:0001')));
    expectWrongAddress(await execute(Viewer, {}, from(key.secret, '2001:db8::2')));
  });

  it('an empty allowlist admits any address', async () => {
    const key = await keyAllowing();
    expectAccepted(await execute(Viewer, {}, from(key.secret, '198.51.100.1')));
    expectAccepted(await execute(Viewer, {}, from(key.secret, '2001:db8::99')));
  });
});

describe('X-Forwarded-For', () => {
  it('is ignored without trusted proxies: the socket address decides', async () => {
    const key = await keyAllowing('203.0.113.7');
    expectWrongAddress(await execute(Viewer, {}, from(key.secret, '10.0.0.1', '203.0.113.7')));
    const socketAllowed = await keyAllowing('10.0.0.1');
    expectAccepted(await execute(Viewer, {}, from(socketAllowed.secret, '10.0.0.1', '203.0.113.7')));
  });

  it('is honoured when the socket is a trusted proxy', async () => {
    const key = await keyAllowing('203.0.113.7');
    expectAccepted(await executeWith(behindProxy, Viewer, {}, from(key.secret, '10.0.0.1', '203.0.113.7')));
  });

  it('behind trusted proxies, entries the client wrote itself (left of the real client) are ignored', async () => {
    const key = await keyAllowing('203.0.113.7');
    // The client claims 203.0.113.7; the proxy appended the address it really saw.
    expectWrongAddress(await executeWith(behindProxy, Viewer, {}, from(key.secret, '10.0.0.1', '203.0.113.7, 198.51.100.9')));
    // Several trusted hops are skipped from the right to reach the client.
    expectAccepted(await executeWith(behindProxy, Viewer, {}, from(key.secret, '10.0.0.1', '198.51.100.9, 203.0.113.7, 10.0.0.2')));
  });

  it('is ignored, even with trusted proxies configured, when the socket is not one of them', async () => {
    const key = await keyAllowing('203.0.113.7');
    expectWrongAddress(await executeWith(behindProxy, Viewer, {}, from(key.secret, '198.51.100.1', '203.0.113.7')));
  });

  it('the resolved client address is what lastUsedIp records', async () => {
    const key = await keyAllowing('203.0.113.7');
    expectAccepted(await executeWith(behindProxy, Viewer, {}, from(key.secret, '10.0.0.1', '203.0.113.7')));
    await behindProxy.lastUsed.flush();
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.lastUsedIp).toBe('203.0.113.7');
  });
});

describe('resolveClientAddress', () => {
  const proxies = [parseAddressRange('10.0.0.0/8'), parseAddressRange('fd00::/8')];
  const forwarded = (value: string) => new Headers({ 'x-forwarded-for': value });

  it('without trusted proxies returns the socket address and ignores X-Forwarded-For', () => {
    expect(resolveClientAddress('10.0.0.1', forwarded('203.0.113.7'), [])).toBe('10.0.0.1');
  });

  it('returns the socket address when the socket is not a trusted proxy', () => {
    expect(resolveClientAddress('198.51.100.1', forwarded('203.0.113.7'), proxies)).toBe('198.51.100.1');
  });

  it('returns the address the trusted proxy saw', () => {
    expect(resolveClientAddress('10.0.0.1', forwarded('203.0.113.7'), proxies)).toBe('203.0.113.7');
  });

  it('ignores spoofed left-most entries', () => {
    expect(resolveClientAddress('10.0.0.1', forwarded('1.1.1.1, 2.2.2.2, 203.0.113.7'), proxies)).toBe('203.0.113.7');
  });

  it('skips every trusted hop from the right', () => {
    expect(resolveClientAddress('10.0.0.1', forwarded('1.1.1.1, 203.0.113.7, 10.9.9.9, 10.0.0.2'), proxies)).toBe('203.0.113.7');
  });

  it('believes nothing left of an entry that is not an address', () => {
    expect(resolveClientAddress('10.0.0.1', forwarded('203.0.113.7, not-an-address'), proxies)).toBe('10.0.0.1');
  });

  it('returns the trusted socket address when there is no X-Forwarded-For', () => {
    expect(resolveClientAddress('10.0.0.1', new Headers(), proxies)).toBe('10.0.0.1');
  });

  it('recognizes an IPv4-mapped socket address as the IPv4 proxy it is', () => {
    expect(resolveClientAddress('::ffff:10.0.0.1', forwarded('203.0.113.7'), proxies)).toBe('203.0.113.7');
  });

  it('handles IPv6 proxies and clients', () => {
    expect(resolveClientAddress('fd00::1', forwarded('2001:db8::7'), proxies)).toBe('2001:db8::7');
  });

  it('returns null when there is no socket address', () => {
    expect(resolveClientAddress(null, forwarded('203.0.113.7'), proxies)).toBeNull();
  });
});
