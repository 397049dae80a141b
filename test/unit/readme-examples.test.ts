/**
 * The README's GraphQL examples are what people paste first: each one must parse and be
 * valid against the committed schema.graphql (a renamed field or a list turned connection
 * would otherwise leave the README quietly wrong).
 */
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Every top-level operation of every ```graphql block (each starts a line with query/mutation). */
function readmeOperations(): string[] {
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks.flatMap((block) => block.split(/\n(?=(?:query|mutation)\b)/)).filter((doc) => doc.trim());
}

describe('README examples', () => {
  const operations = readmeOperations();

  it('are found', () => {
    expect(operations.length).toBeGreaterThan(30);
  });

  it.each(operations.map((doc) => [doc.trim().split('\n')[0]!.slice(0, 80), doc]))('%s … is valid against schema.graphql', (_name, doc) => {
    expect(validate(schema, parse(doc)).map((error) => error.message)).toEqual([]);
  });
});
