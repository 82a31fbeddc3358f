import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that speaks the OpenAI chat-completions protocol
 * (streamed and not), standing in for the external model service. It answers
 * deterministically, reports token usage, and remembers every request so a
 * test can check what Palisade sent (system prompt, knowledge sources, model
 * settings). `failNext` makes the next calls fail with 500.
 */
export interface ChatModelServer {
  url: string;
  requests: Array<{ model: string; messages: Array<{ role: string; content: string }>; body: Record<string, unknown> }>;
  failNext(count: number): void;
  close(): Promise<void>;
}

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
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = await bodyOf(req);
    const messages = body.messages as Array<{ role: string; content: string }>;
    const model = String(body.model);
    requests.push({ model, messages, body });
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
    const base = { id: 'chatcmpl-test', created: Math.floor(Date.now() / 1000), model };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    for (const piece of pieces) {
      chunk({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
      });
    }
    chunk({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    chunk({ ...base, object: 'chat.completion.chunk', choices: [], usage });
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
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
