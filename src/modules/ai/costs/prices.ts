import { z } from 'zod';

export type CostService = 'llm' | 'embedding' | 'vision' | 'voice' | 'livekit';

/**
 * A price: one number for every unit, or separate input and output prices
 * (language models). Quoted per 1,000 tokens for `llm` and `embedding`, per
 * image for `vision`, per minute for `voice` and per participant-minute for
 * `livekit`.
 */
export const priceSchema = z.union([
  z.number().min(0).max(1_000_000),
  z.object({ input: z.number().min(0).max(1_000_000), output: z.number().min(0).max(1_000_000) }).strict(),
]);
export type Price = z.infer<typeof priceSchema>;

/** `AI_PRICES`: per service, prices by model name, with `default` for models not named. */
export const priceOverridesSchema = z
  .object({
    llm: z.record(z.string().min(1).max(200), priceSchema),
    embedding: z.record(z.string().min(1).max(200), priceSchema),
    vision: z.record(z.string().min(1).max(200), priceSchema),
    voice: z.record(z.string().min(1).max(200), priceSchema),
    livekit: z.record(z.string().min(1).max(200), priceSchema),
  })
  .partial()
  .strict();
export type PriceOverrides = z.infer<typeof priceOverridesSchema>;
type PriceTable = Record<CostService, Record<string, Price>>;

/**
 * Built-in list prices in USD, close to public list prices when written. They
 * are estimates for budgeting, not invoices: set `AI_PRICES` to your contract.
 * `offline` is the built-in offline responder, which costs nothing.
 */
export const DEFAULT_PRICES: PriceTable = {
  llm: {
    default: { input: 0.0005, output: 0.0015 },
    offline: 0,
    'gpt-4o-mini': { input: 0.00015, output: 0.0006 },
    'gpt-4o': { input: 0.0025, output: 0.01 },
    'gpt-4.1-mini': { input: 0.0004, output: 0.0016 },
    'gpt-4.1': { input: 0.002, output: 0.008 },
  },
  embedding: {
    default: 0.00002,
    'text-embedding-3-small': 0.00002,
    'text-embedding-3-large': 0.00013,
  },
  vision: { default: 0.01 },
  voice: { default: 0.006 },
  livekit: { default: 0.0005 },
};

/** The unit each service is counted in when the caller does not say; `llm` events name input_tokens or output_tokens. */
export const DEFAULT_UNITS: Record<CostService, string> = {
  llm: 'tokens',
  embedding: 'tokens',
  vision: 'images',
  voice: 'minutes',
  livekit: 'participant_minutes',
};

/** Services quoted per 1,000 units. */
const PER_THOUSAND: ReadonlySet<CostService> = new Set(['llm', 'embedding']);

let table: PriceTable = DEFAULT_PRICES;

/** Merges `AI_PRICES` over the defaults (per service and model). Called once by the server at start. */
export function configurePrices(overrides: PriceOverrides | undefined): void {
  const merged = { ...DEFAULT_PRICES };
  for (const service of Object.keys(DEFAULT_PRICES) as CostService[]) {
    merged[service] = { ...DEFAULT_PRICES[service], ...(overrides?.[service] ?? {}) };
  }
  table = merged;
}

/** The effective price table, as quoted (per 1K tokens, per image, ...), for documentation and the API. */
export function priceTable(): PriceTable {
  return table;
}

/** The date a provider appends to a model name for a snapshot: `-2024-08-06`, or `-0613` in older names. */
const SNAPSHOT_DATE = /-(?:\d{4}-\d{2}-\d{2}|\d{4})$/;

function listed(prices: Record<string, Price>, model: string): Price | undefined {
  // Own entries only: a model named `constructor` must not find Object.prototype's.
  return Object.hasOwn(prices, model) ? prices[model] : undefined;
}

/**
 * A model's own entry, else that of the model it is a dated snapshot of
 * (`gpt-4o-2024-08-06` is priced as `gpt-4o`), else `default`. Only a date is
 * stripped, never a longer prefix matched: `gpt-4.1-nano` is not `gpt-4.1`.
 */
function priceOf(service: CostService, model: string | null | undefined): Price {
  const prices = table[service];
  const own = model ? (listed(prices, model) ?? listed(prices, model.replace(SNAPSHOT_DATE, ''))) : undefined;
  return own ?? prices.default ?? 0;
}

/**
 * USD per single unit (per token, image, minute or participant-minute).
 * For `llm`, `unit` picks the rate: `input_tokens` or `output_tokens`; any
 * other unit (or none) takes the higher of the two, so an estimate is never low.
 */
export function unitPrice(service: CostService, model?: string | null, unit?: string): number {
  const price = priceOf(service, model);
  const quoted =
    typeof price === 'number'
      ? price
      : unit === 'input_tokens'
        ? price.input
        : unit === 'output_tokens'
          ? price.output
          : Math.max(price.input, price.output);
  return PER_THOUSAND.has(service) ? quoted / 1000 : quoted;
}

/** Rounds USD to the ten decimals the database keeps. */
export function roundUsd(amount: number): number {
  return Math.round(amount * 1e10) / 1e10;
}
