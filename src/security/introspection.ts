/**
 * Introspection off (the default in production, KEYGATE_INTROSPECTION) means the schema is
 * not handed to whoever asks: `__schema`/`__type` are refused at validation. Field
 * suggestions ("Did you mean …?") are hidden along with it (query-limits.ts), since they
 * let anyone rebuild the schema one typo at a time. Schema consumers use the committed
 * schema.graphql instead.
 */
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';

export function useIntrospectionPolicy({ introspection }: { introspection: boolean }): Plugin {
  return introspection ? {} : useDisableIntrospection();
}
