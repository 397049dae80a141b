/** Scalars from graphql-scalars, so clients get their documented formats and validation. */
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from './builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An instant, as an RFC 3339 date-time string in UTC, e.g. 2026-12-02T10:00:00.000Z.',
});
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value.' });
