import OpenAI from 'openai';
import { AppError } from '../../../api/errors.ts';
import type { Config } from '../../../config.ts';
import type { Tx } from '../../../db/tenant.ts';
import { recordCost } from '../costs/record.ts';

/** Inputs per embeddings request. */
export const EMBEDDING_BATCH_SIZE = 64;
/** How long one embeddings request may take. */
const EMBEDDINGS_TIMEOUT_MS = 30_000;

export interface EmbeddingBatch {
  vectors: number[][];
  /** Tokens the service counted (prompt tokens). */
  tokens: number;
}

/** An OpenAI-compatible embeddings endpoint. */
export interface EmbeddingsClient {
  readonly model: string;
  readonly dimensions: number;
  /** Embeds the texts in batches of EMBEDDING_BATCH_SIZE, one vector per text in order; onBatch hears about each call. */
  embed(
    texts: readonly string[],
    onBatch?: (batch: { inputs: number; tokens: number }) => void | Promise<void>,
  ): Promise<EmbeddingBatch>;
}

/** Raised when the embeddings service fails or answers with something unusable; its message is safe to show. */
export class EmbeddingsFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingsFailed';
  }
}

export function createEmbeddingsClient(config: Config): EmbeddingsClient | null {
  if (!config.EMBEDDINGS_BASE_URL) return null;
  const client = new OpenAI({
    baseURL: config.EMBEDDINGS_BASE_URL,
    // Local servers often need no key; the library insists on one.
    apiKey: config.EMBEDDINGS_API_KEY ?? 'none',
    timeout: EMBEDDINGS_TIMEOUT_MS,
    maxRetries: 1,
  });
  const model = config.EMBEDDINGS_MODEL;
  const dimensions = config.EMBEDDINGS_DIMENSIONS;
  return {
    model,
    dimensions,
    async embed(texts, onBatch) {
      const vectors: number[][] = [];
      let tokens = 0;
      for (let start = 0; start < texts.length; start += EMBEDDING_BATCH_SIZE) {
        const input = texts.slice(start, start + EMBEDDING_BATCH_SIZE);
        let response: OpenAI.Embeddings.CreateEmbeddingResponse;
        try {
          response = await client.embeddings.create({ model, input, dimensions, encoding_format: 'float' });
        } catch (error) {
          const status = (error as { status?: unknown }).status;
          throw new EmbeddingsFailed(
            typeof status === 'number' ? `The embeddings service answered ${status}.` : 'The embeddings service is unreachable.',
          );
        }
        const sorted = [...response.data].sort((a, b) => a.index - b.index);
        if (sorted.length !== input.length)
          throw new EmbeddingsFailed('The embeddings service returned the wrong number of vectors.');
        for (const item of sorted) {
          if (!Array.isArray(item.embedding) || item.embedding.length !== dimensions) {
            throw new EmbeddingsFailed(`The embeddings service returned vectors of the wrong size (expected ${dimensions}).`);
          }
          vectors.push(item.embedding);
        }
        const used = response.usage?.prompt_tokens ?? 0;
        tokens += used;
        await onBatch?.({ inputs: input.length, tokens: used });
      }
      return { vectors, tokens };
    },
  };
}

/** The error a request sees when embedding its query or document failed. */
export function embeddingsUnavailable(error: EmbeddingsFailed): AppError {
  return new AppError('UNAVAILABLE', error.message);
}

/** One embeddings request: its model, inputs and the tokens the service counted. */
export interface EmbeddingCall {
  model: string;
  inputs: number;
  tokens: number;
}

/** One cost event per embeddings request (service `embedding`, units = tokens), in the caller's tenant transaction. */
export async function recordEmbeddingCosts(
  tx: Tx,
  tenantId: string,
  calls: readonly EmbeddingCall[],
  metadata: Record<string, unknown>,
): Promise<void> {
  for (const call of calls) {
    await recordCost(tx, tenantId, {
      service: 'embedding',
      model: call.model,
      units: call.tokens,
      metadata: { ...metadata, inputs: call.inputs },
    });
  }
}
