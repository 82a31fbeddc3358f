import { encode } from 'gpt-tokenizer';
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
  /** The model asked for, under which the call is priced and recorded. */
  model: string;
  /**
   * The name the service answered with, often a dated snapshot (`gpt-4o-2024-08-06`)
   * that the price table does not list: kept as information, never priced.
   */
  answeredModel?: string;
  tokensIn: number;
  tokensOut: number;
  /** `estimated` when the service reported no usage and the local tokenizer counted instead. */
  tokenCount?: 'reported' | 'estimated';
}

/**
 * The local tokenizer's count of a prompt: for admission before the call, and
 * for charging when the service reports no usage or the answer breaks off.
 * It leaves out the few tokens of per-message framing a service adds.
 */
export function estimatePromptTokens(turns: ReadonlyArray<{ content: string }>): number {
  return turns.reduce((sum, turn) => sum + encode(turn.content).length, 0);
}

/** The local tokenizer's count of (part of) an answer. */
export function estimateAnswerTokens(content: string): number {
  return encode(content).length;
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
  let answeredModel: string | undefined;
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
      answeredModel = chunk.model || answeredModel;
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        content += delta;
        onDelta(delta);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    // The SDK ends an aborted stream quietly, as if the answer were complete:
    // a cut-off answer must fail here, or it would be stored as a whole one.
    if (stream.controller.signal.aborted) throw new Error('the answer was cut off');
  } catch (error) {
    // The service's own message stays in the log (cause); the client sees the catalogued one.
    throw Object.assign(new AppError('MODEL_UNAVAILABLE'), { cause: error });
  }
  const reported = { content, model: settings.model, answeredModel };
  // Some OpenAI-compatible servers never report usage; the call still cost something.
  return usage
    ? { ...reported, tokensIn: usage.prompt_tokens, tokensOut: usage.completion_tokens, tokenCount: 'reported' }
    : {
        ...reported,
        tokensIn: estimatePromptTokens(turns),
        tokensOut: estimateAnswerTokens(content),
        tokenCount: 'estimated',
      };
}
