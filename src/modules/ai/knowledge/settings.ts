import type { Config } from '../../../config.ts';
import { createEmbeddingsClient, type EmbeddingsClient } from './embeddings.ts';

/**
 * The knowledge base's configuration, set once when the server starts
 * (server.ts calls configureKnowledge). searchKnowledge, which other modules
 * call with only a principal, reads it from here.
 */
export interface KnowledgeSettings {
  embeddings: EmbeddingsClient | null;
  maxUploadBytes: number;
  exactSearchMaxChunks: number;
}

let current: KnowledgeSettings = { embeddings: null, maxUploadBytes: 10 * 1024 * 1024, exactSearchMaxChunks: 20_000 };

export function configureKnowledge(config: Config): void {
  current = {
    embeddings: createEmbeddingsClient(config),
    maxUploadBytes: config.KNOWLEDGE_MAX_UPLOAD_BYTES,
    exactSearchMaxChunks: config.KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS,
  };
}

export function knowledgeSettings(): KnowledgeSettings {
  return current;
}
