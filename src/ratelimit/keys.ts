import { isIP } from 'node:net';

/**
 * The rate limit key for a client address. IPv4 addresses (also when written
 * IPv4-mapped, `::ffff:a.b.c.d`) count one by one. IPv6 addresses count per
 * /64: one subscriber is normally given a whole /64, so a per-address limit
 * would give anyone 2^64 fresh buckets. Pass the address Fastify computed under
 * TRUST_PROXY_HOPS (`request.ip`), never a raw X-Forwarded-For value.
 */
export function clientIpKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return `ip:${mapped}`;
  const bare = address.split('%')[0] ?? ''; // a zone id (fe80::1%eth0) names a local interface, not a client
  if (isIP(bare) !== 6) return `ip:${address}`;
  return `ip6:${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  // A trailing dotted IPv4 part (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) fills two groups.
  const split = (part: string | undefined) =>
    part
      ? part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        })
      : [];
  const [head, tail] = address.split('::');
  const left = split(head);
  const right = tail === undefined ? [] : split(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
