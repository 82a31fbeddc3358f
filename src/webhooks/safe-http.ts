import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Outbound HTTP for webhooks that cannot be pointed at the inside of our
 * network. Every address a hostname resolves to is checked after DNS
 * resolution, inside the socket's own lookup, so a hostname that resolves to
 * a public address for a check and to 127.0.0.1 at connect time (DNS
 * rebinding) is still refused. URL literals in decimal, octal or hex form are
 * normalised by the URL parser first. Redirects are never followed.
 */

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, includes the cloud metadata address 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the site's prefix length, so it cannot be judged.
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['fd00:ec2::254', 128], // AWS metadata over IPv6
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an address that `isIP` has already accepted as IPv6 (zone id removed). */
function ipv6Groups(address: string): number[] {
  const hex = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((group) => group.toString(16)).join(':'),
  );
  const [head = '', tail] = hex.split('::');
  const parse = (part: string) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  if (tail === undefined) return parse(head);
  const [before, after] = [parse(head), parse(tail)];
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * The IPv4 address carried by IPv6 forms that reach an IPv4 host: compatible (::a.b.c.d), mapped
 * (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d) and well-known NAT64 (64:ff9b::a.b.c.d). Judging them
 * by the IPv6 table alone would let ::7f00:1 through as a public address.
 */
function embeddedIpv4(groups: number[]): string | undefined {
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  const carriesIpv4 =
    (zeros(0, 5) && (groups[5] === 0 || groups[5] === 0xffff)) ||
    (zeros(0, 4) && groups[4] === 0xffff && groups[5] === 0) ||
    (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6));
  if (!carriesIpv4) return undefined;
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** Whether an IP address is private, loopback, link-local, metadata, reserved or multicast; so is anything that is not an IP address. */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(ipv6Groups(bare));
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return true;
}

export interface OutboundPolicy {
  /** Production: only https to public addresses. */
  requireHttps: boolean;
  /** Hosts (names or IPs) allowed even if they resolve to non-public addresses: tests and local development. */
  allowedHosts: ReadonlySet<string>;
}

export class BlockedDestinationError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'BlockedDestinationError';
  }
}

const bareHostname = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Allowed hosts match the hostname as written in the URL (lowercased, IPv6 without brackets), not what it resolves to. */
const isAllowedHost = (url: URL, policy: OutboundPolicy) => policy.allowedHosts.has(bareHostname(url).toLowerCase());

/** Validates a URL's form when an endpoint is saved; the address itself is checked again at every connect. */
export function checkWebhookUrl(raw: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlockedDestinationError('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BlockedDestinationError('only http and https URLs');
  if (url.username || url.password) throw new BlockedDestinationError('credentials in the URL are not allowed');
  const host = bareHostname(url);
  const allowed = isAllowedHost(url, policy);
  if (policy.requireHttps && url.protocol !== 'https:' && !allowed) throw new BlockedDestinationError('only https URLs');
  if (isIP(host) && isNonPublicAddress(host) && !allowed) throw new BlockedDestinationError('the address is not public');
  if (!allowed && (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal'))) {
    throw new BlockedDestinationError('the address is not public');
  }
  return url;
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most `maxBodyBytes` of the body, as text. */
  bodyExcerpt: string;
}

export interface OutboundRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  maxBodyBytes?: number;
}

/**
 * The socket lookup that enforces the public-address rule at connect time. It resolves every address and
 * refuses the host if any of them is non-public, so a name cannot mix a public address with an internal one.
 * It answers in the shape the socket asked for: with autoSelectFamily (happy eyeballs, on by default since
 * Node 20) net asks for all addresses and needs the list; otherwise it needs one address and its family.
 */
export function publicAddressLookup(allowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '');
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (!allowed && addresses.some(({ address }) => isNonPublicAddress(address))) {
        return callback(new BlockedDestinationError('the address is not public'), '');
      }
      if (options.all) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}

/** Sends one request under the policy. Rejects with BlockedDestinationError, a timeout or a network error. */
export async function sendOutbound(request: OutboundRequest, policy: OutboundPolicy): Promise<OutboundResponse> {
  const url = checkWebhookUrl(request.url, policy);
  const lookup = publicAddressLookup(isAllowedHost(url, policy));
  const client = url.protocol === 'https:' ? https : http;
  const maxBody = request.maxBodyBytes ?? 4096;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: request.method,
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
        lookup,
        timeout: request.timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size));
          size += chunk.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyExcerpt: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    // The socket timeout covers idle gaps; this one bounds the whole exchange.
    const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${request.timeoutMs} ms`)), request.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`timed out after ${request.timeoutMs} ms`)));
    req.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    req.on('close', () => clearTimeout(deadline));
    req.end(request.body);
  });
}
