/** Writes schema.graphql from the Pothos schema (`npm run schema`). A test fails when it is stale. */
import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';

process.env.KEYGATE_LOG_LEVEL ??= 'silent';
const { sortedSchema } = await import('../src/schema/index.js');
writeFileSync(new URL('../schema.graphql', import.meta.url), printSchema(sortedSchema) + '\n');
console.log('wrote schema.graphql');
process.exit(0);
