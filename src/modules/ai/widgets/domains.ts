/**
 * A widget's allowed domains: `example.com` (that host, any port),
 * `example.com:8443` (that host and port) or `*.example.com` (any subdomain,
 * not the apex). Browsers send the page's origin with every widget request;
 * it must match one of them.
 */
export const DOMAIN_PATTERN =
  /^(\*\.)?(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;

/** Lower-cased and trimmed; null when it is not a domain pattern. */
export function normaliseDomain(entry: string): string | null {
  const value = entry.trim().toLowerCase();
  return DOMAIN_PATTERN.test(value) ? value : null;
}

/** Whether a request's Origin header is one of the allowed domains. */
export function originAllowed(origin: string | undefined | null, allowed: readonly string[]): boolean {
  if (!origin || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  const host = url.hostname.toLowerCase();
  const hostWithPort = url.port ? `${host}:${url.port}` : host;
  return allowed.some((entry) => {
    if (entry.startsWith('*.')) {
      const suffix = entry.slice(1);
      const [suffixHost, suffixPort] = suffix.split(':');
      if (suffixPort !== undefined && suffixPort !== url.port) return false;
      return host.endsWith(suffixHost as string) && host.length > (suffixHost as string).length;
    }
    return entry.includes(':') ? entry === hostWithPort : entry === host;
  });
}
