/**
 * What a JSON payload (triggerWorkflow's input, deliverData's payload) must be before it is
 * stored. Any shape is allowed, within bounds that keep one request from costing more than
 * its size:
 *
 * - nesting at most `maxDepth` levels: deeply nested JSON overflows recursive code (the
 *   JSON serializer, PostgreSQL's jsonb parser) and turns one request into a 500;
 * - no NUL character and no lone surrogate half in any string or key: PostgreSQL's jsonb
 *   refuses both, and neither is text anyone means to send;
 * - at most `maxBytes` bytes once serialized.
 *
 * The walk is iterative, so a payload nested far past the limit is refused, not a crash.
 */
import { badInput } from '../errors.js';

export type JsonPayloadLimits = { maxBytes: number; maxDepth: number };

const NUL = '\u0000';
const LONE_SURROGATE = /\p{Cs}/u;

export function assertJsonPayload(field: string, value: unknown, limits: JsonPayloadLimits): void {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (typeof current === 'string') {
      assertStorableString(field, current);
    } else if (current !== null && typeof current === 'object') {
      if (depth + 1 > limits.maxDepth) throw badInput(field, `is nested deeper than ${limits.maxDepth} levels`);
      for (const [key, child] of Object.entries(current)) {
        assertStorableString(field, key);
        pending.push({ value: child, depth: depth + 1 });
      }
    }
  }
  const size = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (size > limits.maxBytes) throw badInput(field, `is ${size} bytes; the limit is ${limits.maxBytes} bytes`);
}

function assertStorableString(field: string, text: string) {
  if (text.includes(NUL)) throw badInput(field, 'must not contain the NUL character (\\u0000) in any string or key');
  if (LONE_SURROGATE.test(text)) throw badInput(field, 'must be valid Unicode (a string or key contains half of a surrogate pair)');
}
