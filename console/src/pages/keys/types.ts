import type { ConsoleApiKeysQuery } from '../../gql/graphql';

export type Key = ConsoleApiKeysQuery['apiKeys']['edges'][number]['node'];
