/**
 * One query and one mutation against keygate, fully typed. Run it against a server with
 * KEYGATE_URL (default http://localhost:4000/graphql) and KEYGATE_TOKEN (a session token from
 * signIn), e.g. `npx tsx examples/typed-client/src/index.ts <key id>`.
 */
import { graphql } from './gql/index.js';
import { createClient, KeygateError } from './execute.js';

const ExpiringKeys = graphql(`
  query ExampleExpiringKeys($first: Int) {
    apiKeys(first: $first, expirationState: [EXPIRING_SOON, EXPIRED]) {
      totalCount
      edges {
        node {
          id
          name
          prefix
          expiresAt
          expirationState
          authorizationGroup {
            name
          }
        }
      }
    }
  }
`);

const RotateKey = graphql(`
  mutation ExampleRotateKey($id: ID!, $input: RotateApiKeyInput) {
    rotateApiKey(id: $id, input: $input) {
      secret
      apiKey {
        id
        expiresAt
      }
    }
  }
`);

async function main() {
  const execute = createClient(process.env.KEYGATE_URL ?? 'http://localhost:4000/graphql', { sessionToken: process.env.KEYGATE_TOKEN });
  const { apiKeys } = await execute(ExpiringKeys, { first: 20 });
  console.log(`${apiKeys.totalCount} key(s) expire soon or have expired`);
  for (const { node } of apiKeys.edges) {
    // `expirationState` is the union 'VALID' | 'EXPIRING_SOON' | 'EXPIRED'; `expiresAt` a string or null.
    console.log(`${node.prefix}… ${node.name} (${node.authorizationGroup.name}): ${node.expirationState} at ${node.expiresAt ?? 'never'}`);
  }

  const keyId = process.argv[2];
  if (!keyId) return;
  try {
    const { rotateApiKey } = await execute(RotateKey, { id: keyId, input: { expiresIn: 'DAYS_90' } });
    // Shown once: hand it to the integration now.
    console.log(`rotated ${rotateApiKey.apiKey.id}; new secret ${rotateApiKey.secret}; expires ${rotateApiKey.apiKey.expiresAt}`);
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'NOT_FOUND') console.error(`no key ${keyId} in your tenant`);
    else throw error;
  }
}

await main();
