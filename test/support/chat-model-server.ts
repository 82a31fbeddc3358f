import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that speaks the OpenAI chat-completions protocol
 * (streamed and not), standing in for the external model service. It answers
 * deterministically, reports token usage, and remembers every request so a
 * test can check what Palisade sent (system prompt, knowledge sources, model
 * settings). `failNext` makes the next calls fail with 500; `behave` imitates
 * other services (dated model names, no usage, streams that stop midway).
 */
export interface ChatModelServer {
  url: string;
  requests: Array<{
    model: string;
    messages: Array<{ role: string; content: string }>;
    body: Record<string, unknown>;
    /** Set when a stream held open by `afterFirstDelta: 'hold'` was closed by the client. */
    closedByClient?: boolean;
  }>;
  failNext(count: number): void;
  /** Changes how the following requests are answered, until changed again. */
  behave(next: Partial<ChatModelBehaviour>): void;
  /** Lets streams held by `afterFirstDelta: 'hold'` finish their answers. */
  releaseHeld(): void;
  close(): Promise<void>;
}

export interface ChatModelBehaviour {
  /** The model name the answers carry instead of the requested one (OpenAI answers with dated snapshots). */
  answeredModel: string | null;
  /** Whether answers report token usage; some OpenAI-compatible servers never do. */
  reportUsage: boolean;
  /**
   * What a streamed answer does after its first delta: `hold` waits until the
   * client goes away (or `releaseHeld`), `break` drops the connection.
   */
  afterFirstDelta: 'continue' | 'hold' | 'break';
}

const ORDINARY: ChatModelBehaviour = { answeredModel: null, reportUsage: true, afterFirstDelta: 'continue' };

/** The answer the server gives: quotes the question so tests can recognise it. */
export const modelAnswer = (question: string) => `Model answer to: ${question}. See [1].`;

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export async function startChatModelServer(): Promise<ChatModelServer> {
  const requests: ChatModelServer['requests'] = [];
  let failures = 0;
  let behaviour = ORDINARY;
  const held = new Set<() => void>();
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = await bodyOf(req);
    const messages = body.messages as Array<{ role: string; content: string }>;
    const model = String(body.model);
    const request: ChatModelServer['requests'][number] = { model, messages, body };
    requests.push(request);
    if (failures > 0) {
      failures--;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"model exploded"}}');
      return;
    }
    const question = messages.at(-1)?.content ?? '';
    const answer = modelAnswer(question);
    const promptTokens = messages.reduce((sum, m) => sum + m.content.split(/\s+/).length, 0);
    const pieces = answer.match(/\S+\s*/g) ?? [];
    const usage = { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length };
    const base = { id: 'chatcmpl-test', created: Math.floor(Date.now() / 1000), model: behaviour.answeredModel ?? model };
    const reported = behaviour.reportUsage ? { usage } : {};
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
          ...reported,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // Resolves once the chunk has left, so a connection dropped after it still delivers it.
    const chunk = (data: unknown) =>
      new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(data)}\n\n`, () => resolve()));
    for (const [index, piece] of pieces.entries()) {
      await chunk({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
      });
      if (index > 0 || behaviour.afterFirstDelta === 'continue') continue;
      if (behaviour.afterFirstDelta === 'break') {
        res.socket?.end();
        return;
      }
      const closed = await new Promise<boolean>((resolve) => {
        const release = () => resolve(false);
        held.add(release);
        res.once('close', () => {
          held.delete(release);
          resolve(true);
        });
      });
      if (closed) {
        request.closedByClient = true;
        return;
      }
    }
    await chunk({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (behaviour.reportUsage) await chunk({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext: (count) => {
      failures = count;
    },
    behave: (next) => {
      behaviour = { ...behaviour, ...next };
    },
    releaseHeld: () => {
      for (const release of held) release();
      held.clear();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a server-sent event stream into its events. */
export async function readEventStream(response: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => ({
      event: /^event: (.*)$/m.exec(frame)?.[1] ?? 'message',
      data: JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null'),
    }));
}
