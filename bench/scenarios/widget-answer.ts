import { callApi, createTenant } from '../api.ts';
import type { Observation } from '../report.ts';
import { percentile, round } from '../stats.ts';
import type { EventScenarioContext } from './context.ts';

const TOPICS = ['shipping', 'returns', 'warranty', 'billing', 'accounts', 'privacy', 'gadgets', 'repairs', 'discounts', 'stores'];

/** A help article about one topic; every article shares vocabulary, as real ones do. */
function article(i: number): { title: string; content: string } {
  const topic = TOPICS[i % TOPICS.length] as string;
  return {
    title: `${topic} note ${i}`,
    content:
      `# ${topic} ${i}\n\nCustomers ask about ${topic} often. Article ${i} explains how ${topic} works for order ${i * 7}.\n\n` +
      `## Details\n\nFor ${topic}, contact support within ${(i % 30) + 1} days. Gadgets bought in store ${i % 13} follow the same rule.`,
  };
}

/**
 * widget_answer: what a visitor waits for. One tenant with `documents` help
 * articles and a widget on the offline responder (no model service, so the
 * figure is Palisade's own work: key resolution, origin check, rate limits,
 * storing the question, the knowledge search, streaming, storing the answer
 * and totals in a second transaction). Questions are asked one after another
 * through the public widget API, as a browser would; the time to the first
 * streamed byte and to the end of the stream are recorded, beside the
 * tenant's plain knowledge search for the same questions.
 */
export async function widgetAnswer(ctx: EventScenarioContext): Promise<Observation> {
  const quick = ctx.settings.mode === 'quick';
  const documents = quick ? 20 : 500;
  const questions = quick ? 40 : 500;
  console.error(`\nwidget_answer: ${documents} articles, ${questions} questions through the widget, offline responder`);

  const base = ctx.baseUrl;
  const tenantId = await createTenant(base, ctx.owner.cookie, 'Widget bench', `widget-bench-${Date.now().toString(36)}`);
  const headers = { cookie: ctx.owner.cookie, 'x-tenant-id': tenantId };
  const agent = await callApi<{ id: string }>(base, 'POST', '/api/v1/ai/agents', headers, {
    name: 'Bench agent',
    systemPrompt: 'Answer from the articles.',
    knowledgeCategories: ['support'],
  });
  for (let i = 0; i < documents; i++) {
    await callApi(base, 'POST', '/api/v1/ai/knowledge/documents', headers, { ...article(i), category: 'support' });
  }
  const origin = 'https://shop.bench.example';
  const widget = await callApi<{ publishableKey: string }>(base, 'POST', '/api/v1/ai/widgets', headers, {
    name: 'Bench widget',
    agentId: agent.id,
    allowedDomains: ['shop.bench.example'],
  });
  const api = `${base}/api/v1/widget/${widget.publishableKey}`;
  const session = await fetch(`${api}/sessions`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: '{}',
  });
  if (session.status !== 201) throw new Error(`widget_answer: session refused (${session.status})`);
  const { sessionId, visitorToken } = (await session.json()) as { sessionId: string; visitorToken: string };

  const firstByte: number[] = [];
  const complete: number[] = [];
  const search: number[] = [];
  for (let i = 0; i < questions; i++) {
    const topic = TOPICS[i % TOPICS.length] as string;
    const question = `How long do I have to contact support about ${topic} for order ${i}?`;
    const started = performance.now();
    const res = await fetch(`${api}/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ visitorToken, content: question }),
    });
    if (res.status !== 200 || !res.body) throw new Error(`widget_answer: message refused (${res.status})`);
    const reader = res.body.getReader();
    let first = true;
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (first) {
        firstByte.push(performance.now() - started);
        first = false;
      }
      text += decoder.decode(value, { stream: true });
    }
    complete.push(performance.now() - started);
    if (!text.includes('event: done')) throw new Error('widget_answer: the stream ended without an answer');

    const searchStarted = performance.now();
    await callApi(base, 'GET', `/api/v1/ai/knowledge/search?q=${encodeURIComponent(`${topic} support`)}&limit=5`, headers);
    search.push(performance.now() - searchStarted);
  }

  const figures = {
    widget_answer_first_byte_p50_ms: round(percentile(firstByte, 50), 1),
    widget_answer_p50_ms: round(percentile(complete, 50), 1),
    widget_answer_p95_ms: round(percentile(complete, 95), 1),
    widget_answer_search_p50_ms: round(percentile(search, 50), 1),
  };
  return {
    name: 'widget_answer',
    ratios: {},
    figures,
    summary: [
      `widget answer (offline responder, ${documents} articles): first byte p50 ${figures.widget_answer_first_byte_p50_ms} ms, ` +
        `complete p50 ${figures.widget_answer_p50_ms} ms, p95 ${figures.widget_answer_p95_ms} ms; ` +
        `knowledge search alone p50 ${figures.widget_answer_search_p50_ms} ms`,
    ],
  };
}
