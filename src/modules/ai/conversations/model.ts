import OpenAI from 'openai';
import { AppError } from '../../../api/errors.ts';
import type { Config } from '../../../config.ts';

/** One turn sent to a chat model. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The agent's sampling settings for one call. */
export interface ModelSettings {
  model: string;
  temperature: number;
  maxTokens: number;
  topP: number;
  presencePenalty: number;
  frequencyPenalty: number;
}

export interface Completion {
  content: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
}

/** Receives the answer as it is generated. */
export type OnDelta = (text: string) => void;

const clients = new WeakMap<Config, OpenAI>();

/** Whether an OpenAI-compatible chat service is configured; without one the offline responder answers. */
export function chatModelConfigured(config: Config): boolean {
  return config.LLM_BASE_URL !== undefined;
}

function clientFor(config: Config): OpenAI {
  let client = clients.get(config);
  if (!client) {
    client = new OpenAI({
      baseURL: config.LLM_BASE_URL,
      // Local OpenAI-compatible servers often need no key; the SDK insists on a value.
      apiKey: config.LLM_API_KEY ?? 'not-needed',
      timeout: config.LLM_TIMEOUT_MS,
      maxRetries: 1,
    });
    clients.set(config, client);
  }
  return client;
}

/**
 * Streams one chat completion from the configured service. Any failure of the
 * service (refused, timed out, malformed) becomes MODEL_UNAVAILABLE; what the
 * service said is logged by the caller, never sent to the client.
 */
export async function completeChat(
  config: Config,
  turns: ChatTurn[],
  settings: ModelSettings,
  onDelta: OnDelta,
  signal?: AbortSignal,
): Promise<Completion> {
  const client = clientFor(config);
  let content = '';
  let model = settings.model;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  try {
    const stream = await client.chat.completions.create(
      {
        model: settings.model,
        messages: turns,
        temperature: settings.temperature,
        max_tokens: settings.maxTokens,
        top_p: settings.topP,
        presence_penalty: settings.presencePenalty,
        frequency_penalty: settings.frequencyPenalty,
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal },
    );
    for await (const chunk of stream) {
      model = chunk.model || model;
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        content += delta;
        onDelta(delta);
      }
      if (chunk.usage) usage = chunk.usage;
    }
  } catch (error) {
    // The service's own message stays in the log (cause); the client sees the catalogued one.
    throw Object.assign(new AppError('MODEL_UNAVAILABLE'), { cause: error });
  }
  return {
    content,
    model,
    tokensIn: usage?.prompt_tokens ?? 0,
    tokensOut: usage?.completion_tokens ?? 0,
  };
}
