import { encode } from 'gpt-tokenizer';
import type { Passage } from '../knowledge/search.ts';
import type { Completion, OnDelta } from './model.ts';

/** The model name recorded for answers of the built-in responder (priced at zero). */
export const OFFLINE_MODEL = 'offline';

/** Every offline answer starts with this, so nobody mistakes it for a language model's reply. */
export const OFFLINE_LABEL = 'Offline assistant (no language model is configured).';

const EXCERPT_CHARS = 400;

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= EXCERPT_CHARS) return flat;
  const cut = flat.slice(0, EXCERPT_CHARS);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), EXCERPT_CHARS - 40))}…`;
}

/** The offline answer: the best-matching passages, numbered like the citations that go with them. */
export function offlineAnswerText(passages: readonly Passage[]): string {
  if (passages.length === 0) {
    return `${OFFLINE_LABEL} Nothing in the knowledge base matches your question. Try other words, or add documents that cover it.`;
  }
  const lines = passages.map((p, i) => `[${i + 1}] ${p.documentTitle}: ${excerpt(p.text)}`);
  return `${OFFLINE_LABEL} These passages from the knowledge base match your question best:\n\n${lines.join('\n\n')}`;
}

/**
 * Answers without any external service, so a fresh install can chat: the
 * answer is the knowledge passages themselves, streamed in small pieces like a
 * model's reply. Token counts are real (the same tokenizer family as the
 * models), the cost is zero.
 */
export function answerOffline(question: string, passages: readonly Passage[], onDelta: OnDelta): Completion {
  const content = offlineAnswerText(passages);
  for (const piece of content.match(/\S+\s*/g) ?? []) onDelta(piece);
  return { content, model: OFFLINE_MODEL, tokensIn: encode(question).length, tokensOut: encode(content).length };
}
