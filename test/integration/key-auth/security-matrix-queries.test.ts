import { describe, expect, it } from 'vitest';
import { MATRIX_OPERATIONS, matrixOperationKind, runSecurityMatrix, schemaOperations } from '../../helpers/security-matrix.js';

describe('security matrix coverage', () => {
  it('covers every query and mutation of schema.graphql, and nothing else', () => {
    const { query, mutation } = schemaOperations();
    expect([...MATRIX_OPERATIONS].sort()).toEqual([...query, ...mutation].sort());
    for (const name of query) expect(matrixOperationKind(name), name).toBe('query');
    for (const name of mutation) expect(matrixOperationKind(name), name).toBe('mutation');
  });
});

runSecurityMatrix('query');
