/** A nullable timestamp as procedures return it: ISO 8601, or null. */
export const iso = (date: Date | null) => date?.toISOString() ?? null;
