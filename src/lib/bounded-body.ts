/**
 * A request body read up to a limit. Reading it whole first (`text()`, `arrayBuffer()`) and
 * measuring afterwards lets one request without a Content-Length (chunked) fill the memory
 * before it is refused: here the reading stops at the first byte past the limit.
 */

/** The body's bytes, or null as soon as it is known to be larger than `limit` (declared or read). */
export async function readBodyWithin(request: Request, limit: number): Promise<Buffer | null> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) return null;
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
}
