/**
 * schema.graphql is the product for people generating typed clients: every type, field,
 * argument, input field and enum value of the built schema carries a description. GraphQL's
 * own scalars and the introspection types are documented by the spec and left out.
 */
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

/** Every documentable element of the schema, by coordinate, and whether it has a description. */
export function describedElements(built: GraphQLSchema): { coordinate: string; described: boolean }[] {
  const elements: { coordinate: string; described: boolean }[] = [];
  const add = (coordinate: string, description: string | null | undefined) =>
    elements.push({ coordinate, described: Boolean(description?.trim()) });
  for (const type of Object.values(built.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    const root = type === built.getQueryType() || type === built.getMutationType() || type === built.getSubscriptionType();
    if (!root) add(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        add(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) add(`${type.name}.${field.name}(${arg.name}:)`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) add(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) add(`${type.name}.${value.name}`, value.description);
    }
  }
  return elements;
}

describe('schema descriptions', () => {
  it('describe every type, field, argument, input field and enum value (100%)', () => {
    const elements = describedElements(schema);
    expect(elements.length).toBeGreaterThan(300);
    expect(elements.filter((e) => !e.described).map((e) => e.coordinate)).toEqual([]);
  });

  it('the check sees a missing description (it is not vacuous)', async () => {
    const { buildSchema } = await import('graphql');
    const bare = buildSchema('"A" type Query { "b" b(c: Int): E }  "E" enum E { X }');
    expect(describedElements(bare).filter((e) => !e.described).map((e) => e.coordinate)).toEqual(['Query.b(c:)', 'E.X']);
  });
});
