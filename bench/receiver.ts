import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** The first arrival of one delivery (one `webhook-id`). */
export interface Arrival {
  type: string;
  /** The event's own time (payload `timestamp`), epoch ms. */
  occurredAt: number;
  /** When the receiver had the whole request, epoch ms (the same clock as the database's now()). */
  receivedAt: number;
}

export interface BenchReceiver {
  url: string;
  /** First arrivals by webhook-id. */
  arrivals: Map<string, Arrival>;
  /** Deliveries that arrived again with a webhook-id already seen (at-least-once delivery). */
  duplicates(): number;
  /** From now on, deliveries must carry a valid signature for this endpoint secret (`whsec_...`). */
  trust(secret: string): void;
  /** A delivery that failed verification or could not be read, if any: the run must not use the figures then. */
  failure(): Error | undefined;
  stop(): Promise<void>;
}

/**
 * A minimal webhook receiver on loopback for webhook_delivery: answers every
 * delivery with 204 at once, checks its Standard Webhooks signature once a
 * secret is known, and records when it arrived. It does as little as a
 * receiver can, so that what is measured is Palisade's side.
 */
export async function startReceiver(): Promise<BenchReceiver> {
  const arrivals = new Map<string, Arrival>();
  let duplicates = 0;
  let verifier: Webhook | undefined;
  let failure: Error | undefined;

  const record = (headers: IncomingHttpHeaders, body: string, receivedAt: number) => {
    const id = headers['webhook-id'];
    if (typeof id !== 'string') throw new Error('delivery without webhook-id');
    // Before trust(): the endpoint's own creation event, which is not measured.
    const payload = (verifier ? verifier.verify(body, headers as Record<string, string>) : JSON.parse(body)) as {
      type: string;
      timestamp: string;
    };
    if (arrivals.has(id)) {
      duplicates++;
      return;
    }
    arrivals.set(id, { type: payload.type, occurredAt: Date.parse(payload.timestamp), receivedAt });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const receivedAt = Date.now();
      try {
        record(req.headers, Buffer.concat(chunks).toString('utf8'), receivedAt);
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
      // 204 whatever happened: a retry would only blur the figures; the failure fails the run instead.
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('receiver has no address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    arrivals,
    duplicates: () => duplicates,
    trust(secret) {
      verifier = new Webhook(secret);
    },
    failure: () => failure,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
