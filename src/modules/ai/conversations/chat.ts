import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { encode } from 'gpt-tokenizer';
import { AppError } from '../../../api/errors.ts';
import type { Config } from '../../../config.ts';
import { type DataPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../../events/emit.ts';
import { type AgentRow, countAgentUse, findUsableAgent } from '../agents/procedures.ts';
import { admitModelCall, recordCost, releaseReservation } from '../costs/record.ts';
import { type Passage, searchKnowledge } from '../knowledge/search.ts';
import {
  type ChatTurn,
  type Completion,
  chatModelConfigured,
  completeChat,
  estimateAnswerTokens,
  estimatePromptTokens,
  type OnDelta,
} from './model.ts';
import { answerOffline } from './offline.ts';
import { type Citation, conversationMessages, conversations } from './schema.ts';

/** How many earlier turns go with each question. */
const HISTORY_TURNS = 20;
/** How many knowledge passages ground each answer. */
const PASSAGES = 5;

export interface MessageRow {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  attachments: Array<{ name: string; contentType: string; size: number; url?: string }> | null;
  model: string | null;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number | null;
  citations: Citation[] | null;
  createdAt: Date;
}

export const messageColumns = {
  id: conversationMessages.id,
  conversationId: conversationMessages.conversationId,
  role: conversationMessages.role,
  content: conversationMessages.content,
  attachments: conversationMessages.attachments,
  model: conversationMessages.model,
  tokensIn: conversationMessages.tokensIn,
  tokensOut: conversationMessages.tokensOut,
  cost: conversationMessages.cost,
  latencyMs: conversationMessages.latencyMs,
  citations: conversationMessages.citations,
  createdAt: conversationMessages.createdAt,
};

export interface ChatRequest {
  principal: DataPrincipal;
  /** Who the events are attributed to (the member or key; a widget visitor has only the tenant). */
  actor: EventActor;
  config: Config;
  conversationId: string;
  content: string;
  attachments?: MessageRow['attachments'];
  /** Lets the caller stop a streaming answer (the client went away). */
  signal?: AbortSignal;
}

export interface ChatResult {
  question: MessageRow;
  answer: MessageRow;
  /** True when the built-in offline responder answered. */
  offline: boolean;
}

/**
 * A question as a search for passages sharing any of its words: full-text
 * search otherwise requires every word, and a question's words ("how", "many")
 * are rarely all in the answer. Ranking still puts passages with more of them first.
 */
export function anyWordOf(question: string): string {
  const words = question.match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.toLowerCase()))].slice(0, 40).join(' or ');
}

function groundingPrompt(agent: AgentRow, passages: readonly Passage[]): string {
  if (passages.length === 0) return agent.systemPrompt;
  const sources = passages.map((p, i) => `[${i + 1}] ${p.documentTitle}\n${p.text}`).join('\n\n');
  return (
    `${agent.systemPrompt}\n\nAnswer from the sources below when they are relevant and cite them as [n]. ` +
    `If they do not answer the question, say so.\n\nSources:\n${sources}`
  );
}

const citationsOf = (passages: readonly Passage[]): Citation[] =>
  passages.map((p) => ({ documentId: p.documentId, documentTitle: p.documentTitle, position: p.position, snippet: p.snippet }));

/** Opens the turn: checks the conversation and agent, stores the question, returns the history. */
async function openTurn(tx: Tx, request: ChatRequest) {
  const tenantId = request.principal.tenantId;
  const [conversation] = await tx
    .select({ id: conversations.id, agentId: conversations.agentId, status: conversations.status })
    .from(conversations)
    .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, request.conversationId)))
    .for('update');
  if (!conversation) throw new AppError('NOT_FOUND');
  if (conversation.status !== 'open') throw new AppError('INVALID_TRANSITION', 'This conversation is closed.');
  if (!conversation.agentId) throw new AppError('UNPROCESSABLE', 'This conversation has no agent to answer.');
  const agent = await findUsableAgent(tx, tenantId, conversation.agentId).catch(() => {
    throw new AppError('UNPROCESSABLE', 'The agent of this conversation is no longer available.');
  });
  if (!agent.active) throw new AppError('UNPROCESSABLE', 'The agent of this conversation is switched off.');
  const history = await tx
    .select({ role: conversationMessages.role, content: conversationMessages.content })
    .from(conversationMessages)
    .where(and(eq(conversationMessages.tenantId, tenantId), eq(conversationMessages.conversationId, conversation.id)))
    .orderBy(desc(conversationMessages.createdAt), desc(conversationMessages.id))
    .limit(HISTORY_TURNS);
  const [question] = await tx
    .insert(conversationMessages)
    .values({
      tenantId,
      conversationId: conversation.id,
      role: 'user',
      content: request.content,
      attachments: request.attachments ?? null,
      tokensIn: encode(request.content).length,
    })
    .returning(messageColumns);
  if (!question) throw new Error('message not stored');
  return { agent, history: history.reverse() as ChatTurn[], question: question as MessageRow };
}

/**
 * Records a model call as its two cost events, priced by the model the agent
 * asked for (the one admission priced), and settles its reservation.
 * Returns the amount in USD.
 */
async function recordModelCost(
  tx: Tx,
  tenantId: string,
  call: {
    model: string;
    tokensIn: number;
    tokensOut: number;
    sessionId: string;
    agentId: string;
    reservationId: string | null;
    metadata: Record<string, unknown>;
  },
): Promise<number> {
  const costOf = { service: 'llm' as const, model: call.model, sessionId: call.sessionId, agentId: call.agentId };
  const input = await recordCost(tx, tenantId, {
    ...costOf,
    units: call.tokensIn,
    unit: 'input_tokens',
    reservationId: call.reservationId,
    metadata: call.metadata,
  });
  const output = await recordCost(tx, tenantId, {
    ...costOf,
    units: call.tokensOut,
    unit: 'output_tokens',
    metadata: call.metadata,
  });
  return input.amount + output.amount;
}

async function addToConversationTotals(
  tx: Tx,
  tenantId: string,
  conversationId: string,
  add: { messages: number; tokensIn: number; tokensOut: number; cost: number },
): Promise<void> {
  await tx
    .update(conversations)
    .set({
      messageCount: sql`${conversations.messageCount} + ${add.messages}`,
      tokensIn: sql`${conversations.tokensIn} + ${add.tokensIn}`,
      tokensOut: sql`${conversations.tokensOut} + ${add.tokensOut}`,
      cost: sql`${conversations.cost} + ${add.cost}`,
      lastMessageAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, conversationId)));
}

/**
 * One question and its answer. The question is stored first (its own short
 * transaction); the knowledge search and the model call run outside any
 * transaction, so a slow model never holds a connection; the answer, the
 * conversation's totals, the agent's usage and the cost events are then
 * written together. With a model configured, the call is first admitted
 * against the tenant's budget (BUDGET_EXCEEDED at the hard limit).
 */
export async function chat(request: ChatRequest, onDelta: OnDelta): Promise<ChatResult> {
  const { principal, config } = request;
  const tenantId = principal.tenantId;
  const started = performance.now();
  const { agent, history, question } = await withTenant(principal, (tx) => openTurn(tx, request));
  const passages = await searchKnowledge(principal, {
    query: anyWordOf(request.content),
    categories: agent.knowledgeCategories,
    limit: PASSAGES,
  });

  const offline = !chatModelConfigured(config);
  let completion: Completion;
  let reservationId: string | null = null;
  if (offline) {
    completion = answerOffline(request.content, passages, onDelta);
  } else {
    const turns: ChatTurn[] = [
      { role: 'system', content: groundingPrompt(agent, passages) },
      ...history,
      { role: 'user', content: request.content },
    ];
    const promptTokens = estimatePromptTokens(turns);
    ({ reservationId } = await withTenant(principal, (tx) =>
      admitModelCall(tx, tenantId, { service: 'llm', model: agent.model, maxUnits: promptTokens + agent.maxTokens }),
    ));
    let streamed = '';
    const relay: OnDelta = (text) => {
      streamed += text;
      onDelta(text);
    };
    try {
      completion = await completeChat(config, turns, agent, relay, request.signal);
    } catch (error) {
      const held = reservationId;
      await withTenant(principal, async (tx) => {
        // Failing before the first token charges nothing. Once the service has
        // answered, the prompt and what was streamed are spent: a client that
        // hangs up just before the end must not get the answer for free.
        if (streamed === '') {
          if (held) await releaseReservation(tx, tenantId, held);
          return;
        }
        const consumed = { tokensIn: promptTokens, tokensOut: estimateAnswerTokens(streamed) };
        const cost = await recordModelCost(tx, tenantId, {
          ...consumed,
          model: agent.model,
          sessionId: question.conversationId,
          agentId: agent.id,
          reservationId: held,
          metadata: { tokenCount: 'estimated', interrupted: true },
        });
        await addToConversationTotals(tx, tenantId, question.conversationId, { messages: 0, ...consumed, cost });
        await countAgentUse(tx, principal, agent.id, { tokens: consumed.tokensIn + consumed.tokensOut });
      });
      throw error;
    }
  }
  const latencyMs = Math.round(performance.now() - started);

  return withTenant(principal, async (tx) => {
    const cost = offline
      ? 0
      : await recordModelCost(tx, tenantId, {
          model: agent.model,
          tokensIn: completion.tokensIn,
          tokensOut: completion.tokensOut,
          sessionId: question.conversationId,
          agentId: agent.id,
          reservationId,
          metadata: {
            tokenCount: completion.tokenCount ?? 'reported',
            ...(completion.answeredModel ? { answeredModel: completion.answeredModel } : {}),
          },
        });
    const [answer] = await tx
      .insert(conversationMessages)
      .values({
        tenantId,
        conversationId: question.conversationId,
        role: 'assistant',
        content: completion.content,
        model: completion.model,
        tokensIn: completion.tokensIn,
        tokensOut: completion.tokensOut,
        cost,
        latencyMs,
        citations: citationsOf(passages),
      })
      .returning(messageColumns);
    if (!answer) throw new Error('answer not stored');
    const tokens = completion.tokensIn + completion.tokensOut;
    await addToConversationTotals(tx, tenantId, question.conversationId, {
      messages: 2,
      tokensIn: completion.tokensIn,
      tokensOut: completion.tokensOut,
      cost,
    });
    await countAgentUse(tx, principal, agent.id, { messages: 2, tokens });
    await emitEvent(tx, request.actor, 'conversation.message.created', {
      conversationId: question.conversationId,
      messageIds: [question.id, answer.id],
      model: completion.model,
    });
    return { question, answer: answer as MessageRow, offline };
  });
}

/** A conversation's messages in order, for transcripts. */
export function transcript(tx: Tx, tenantId: string, conversationId: string, limit: number) {
  return tx
    .select(messageColumns)
    .from(conversationMessages)
    .where(and(eq(conversationMessages.tenantId, tenantId), eq(conversationMessages.conversationId, conversationId)))
    .orderBy(asc(conversationMessages.createdAt), asc(conversationMessages.id))
    .limit(limit);
}
