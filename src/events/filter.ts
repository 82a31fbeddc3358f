/**
 * Event type filters, shared by webhook endpoints and realtime subscriptions:
 * `*`, an exact type, or `resource.*`.
 */
export function matchesFilter(filters: readonly string[], type: string): boolean {
  return filters.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}
