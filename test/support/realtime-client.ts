import { WebSocket } from 'ws';
import { type ServerMessage, serverMessageSchema } from '../../src/realtime/protocol.ts';
import { within } from '../../src/realtime/test-support.ts';

/** A real client socket that records frames and lets a test wait for one. */
export class RealtimeClient {
  readonly frames: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = serverMessageSchema.parse(JSON.parse(String(data)));
      this.frames.push(frame);
      for (const waiter of this.#waiters.filter((w) => w.match(frame))) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    ws.on('error', () => {}); // surfaces as 'close' too
  }

  /** Connects and waits for the ready frame. */
  static async connect(
    url: string,
    options: { headers?: Record<string, string>; autoPong?: boolean } = {},
  ): Promise<RealtimeClient> {
    const client = new RealtimeClient(new WebSocket(url, options));
    await client.next((m) => m.type === 'ready');
    return client;
  }

  next(match: (m: ServerMessage) => boolean, ms = 5_000): Promise<ServerMessage> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return within(new Promise((resolve) => this.#waiters.push({ match, resolve })), ms, 'a frame');
  }

  nextEvent(id: string): Promise<ServerMessage> {
    return this.next((m) => m.type === 'event' && m.event.id === id);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  get eventTypes(): string[] {
    return this.frames.flatMap((f) => (f.type === 'event' ? [f.event.type] : []));
  }

  async close(): Promise<void> {
    this.ws.close();
    await within(this.closed, 5_000, 'close');
  }
}

/** A handshake the server is expected to refuse: its HTTP status and JSON body. */
export function refusal(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return within(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) });
          req.destroy();
        });
      });
      ws.on('open', () => {
        ws.close();
        reject(new Error('the handshake was accepted'));
      });
      ws.on('error', reject);
    }),
    5_000,
    'the refusal',
  );
}
