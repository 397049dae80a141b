import { describe, expect, it } from 'vitest';
import { graphql } from '../gql/index.js';
import { execute, ok } from '../helpers/app.js';
import { seedTenant } from '../helpers/seed.js';

const Viewer = graphql(`
  query Viewer {
    viewer {
      kind
      permissions
      tenant {
        id
      }
    }
  }
`);

describe('viewer', () => {
  it('shows a key principal', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const data = await ok(Viewer, {}, { apiKey: key.secret });
    expect(data.viewer.kind).toBe('API_KEY');
    expect(data.viewer.tenant?.id).toBe(seed.tenant.id);
    const anonymous = await execute(Viewer, {});
    expect(anonymous.data?.viewer.kind).toBe('ANONYMOUS');
  });
});
