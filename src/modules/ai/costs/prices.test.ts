import { expect, it } from 'vitest';
import { configurePrices, DEFAULT_PRICES, unitPrice } from './prices.ts';

const perToken = (service: 'llm', model: string, rate: 'input' | 'output') =>
  (DEFAULT_PRICES[service][model] as { input: number; output: number })[rate] / 1000;

it('prices a dated snapshot as the model it is a snapshot of, and only a date is stripped', () => {
  expect(unitPrice('llm', 'gpt-4o-2024-08-06', 'input_tokens')).toBe(perToken('llm', 'gpt-4o', 'input'));
  expect(unitPrice('llm', 'gpt-4o-mini-2024-07-18', 'output_tokens')).toBe(perToken('llm', 'gpt-4o-mini', 'output'));
  expect(unitPrice('llm', 'gpt-4.1-2025-04-14', 'output_tokens')).toBe(perToken('llm', 'gpt-4.1', 'output'));
  // A different model sharing a known prefix is not that model.
  expect(unitPrice('llm', 'gpt-4.1-nano', 'input_tokens')).toBe(perToken('llm', 'default', 'input'));
  expect(unitPrice('llm', 'gpt-4o-audio-preview', 'input_tokens')).toBe(perToken('llm', 'default', 'input'));
});

it('prefers a configured entry for the dated name itself over its base model', () => {
  try {
    configurePrices({ llm: { 'gpt-4o-2024-05-13': { input: 5, output: 15 } } });
    expect(unitPrice('llm', 'gpt-4o-2024-05-13', 'input_tokens')).toBe(5 / 1000);
    expect(unitPrice('llm', 'gpt-4o-2024-08-06', 'input_tokens')).toBe(perToken('llm', 'gpt-4o', 'input'));
  } finally {
    configurePrices(undefined);
  }
});

it('falls back to the default for names that only exist on Object.prototype', () => {
  expect(unitPrice('llm', 'constructor', 'input_tokens')).toBe(perToken('llm', 'default', 'input'));
  expect(unitPrice('llm', '__proto__', 'output_tokens')).toBe(perToken('llm', 'default', 'output'));
  expect(unitPrice('embedding', 'toString')).toBe((DEFAULT_PRICES.embedding.default as number) / 1000);
});
