import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A deterministic stand-in for an embeddings model, for tests and the
 * benchmark: a hashed bag of words. Each lower-cased word adds 1 to the
 * dimension its hash picks (and 0.5 to a second one), and the vector is
 * normalised, so texts that share words are near each other.
 */
export function hashedEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const hash = createHash('sha256').update(word).digest();
    vector[hash.readUInt32BE(0) % dimensions] = (vector[hash.readUInt32BE(0) % dimensions] ?? 0) + 1;
    vector[hash.readUInt32BE(4) % dimensions] = (vector[hash.readUInt32BE(4) % dimensions] ?? 0) + 0.5;
  }
  const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
  if (norm === 0) vector[0] = 1;
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

export interface EmbeddingsServer {
  /** The base URL to configure as EMBEDDINGS_BASE_URL (…/v1). */
  url: string;
  /** Requests received: the model and the number of inputs of each. */
  calls: Array<{ model: string; inputs: number; dimensions: number | undefined }>;
  /** While set, every request fails with this HTTP status. */
  failWith: number | null;
  /** While set, requests wait for it before they are answered (or failed): a test can look at the work in flight. */
  gate: Promise<void> | null;
  /** Requests waiting at the gate. */
  waiting: number;
  close(): Promise<void>;
}

/** An HTTP server on loopback speaking the OpenAI embeddings protocol (POST /v1/embeddings, float encoding). */
export async function startEmbeddingsServer(defaultDimensions = 64): Promise<EmbeddingsServer> {
  const state: EmbeddingsServer = { url: '', calls: [], failWith: null, gate: null, waiting: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (state.gate) {
        state.waiting++;
        await state.gate;
        state.waiting--;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/embeddings')) return reply(404, { error: { message: 'not found' } });
      if (state.failWith !== null) return reply(state.failWith, { error: { message: 'failing on purpose' } });
      let body: { model?: string; input?: string | string[]; dimensions?: number; encoding_format?: string };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, { error: { message: 'bad json' } });
      }
      const inputs = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
      const dimensions = body.dimensions ?? defaultDimensions;
      state.calls.push({ model: body.model ?? '', inputs: inputs.length, dimensions: body.dimensions });
      const vectors = inputs.map((text) => hashedEmbedding(text, dimensions));
      const tokens = inputs.reduce((n, text) => n + (text.match(/\S+/g)?.length ?? 0), 0);
      const data = vectors.map((embedding, index) => ({
        object: 'embedding',
        index,
        embedding:
          body.encoding_format === 'base64' ? Buffer.from(new Float32Array(embedding).buffer).toString('base64') : embedding,
      }));
      reply(200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/v1`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
