import { request, type ClientRequest } from 'node:http';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * A Server-Sent Events reader over a plain HTTP request (what EventSource does, with the connection
 * in the test's hands): collects messages, remembers the last id, and can be cut at any moment.
 */
export class SseConnection {
  readonly messages: SseMessage[] = [];
  lastId: string | undefined;
  status: number | undefined;
  private req: ClientRequest | undefined;
  private waiters: (() => void)[] = [];
  private ended: (() => void)[] = [];

  /** Calls `listener` when the server ends the stream. */
  onEnd(listener: () => void): void {
    this.ended.push(listener);
  }

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
  ) {}

  open(lastEventId?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request(this.url, { headers: { accept: 'text/event-stream', ...this.headers, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }, (res) => {
        this.status = res.statusCode;
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            this.parse(block);
          }
        });
        res.on('error', () => undefined);
        res.on('end', () => this.ended.forEach((f) => f()));
        resolve();
      });
      this.req.on('error', (err) => (this.status === undefined ? reject(err) : undefined));
      this.req.end();
    });
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (id !== undefined) this.lastId = id;
    if (data.length > 0) this.messages.push({ id, event, data: data.join('\n') });
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `predicate` holds over the messages received. */
  async until(predicate: (messages: SseMessage[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) throw new Error(`SSE: condition not met within ${timeoutMs} ms (${this.messages.length} messages)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Cuts the connection, as a network drop would. */
  cut(): void {
    this.req?.destroy();
  }
}
