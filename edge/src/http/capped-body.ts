/** A device answered with more bytes than the reader accepts. */
export class BodyTooLargeError extends Error {
  constructor(
    /** bytes received before reading stopped (the declared length when it already said too much) */
    readonly bytesSeen: number,
    readonly limit: number,
  ) {
    super(`the answer of at least ${bytesSeen} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a response body whole, never more than `limit` bytes of it: a device that sends more (a bug,
 * or a hostile one) is cut off with BodyTooLargeError, the rest left unread and cancelled.
 */
export async function readCappedBody(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > limit) {
      void reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(size, limit);
    }
    chunks.push(value);
  }
}
