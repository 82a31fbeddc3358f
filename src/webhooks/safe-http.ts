import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Outbound HTTP for webhooks that cannot be pointed at the inside of our
 * network. The address is checked after DNS resolution, inside the socket's
 * own lookup, so a hostname that resolves to a public address for a check and
 * to 127.0.0.1 at connect time (DNS rebinding) is still refused. URL literals
 * in decimal, octal or hex form are normalised by the URL parser first.
 * Redirects are never followed.
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
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['fd00:ec2::254', 128], // AWS metadata over IPv6
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

function mappedIpv4(address: string): string | undefined {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match?.[1];
}

/** Whether an IP address is private, loopback, link-local, metadata, reserved or multicast. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const v4 = mappedIpv4(address);
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(address, 'ipv6');
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
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const allowed = policy.allowedHosts.has(host.toLowerCase());
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

/** Sends one request under the policy. Rejects with BlockedDestinationError, a timeout or a network error. */
export function sendOutbound(request: OutboundRequest, policy: OutboundPolicy): Promise<OutboundResponse> {
  const url = checkWebhookUrl(request.url, policy);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const allowed = policy.allowedHosts.has(host.toLowerCase());
  const lookup: typeof dnsLookup = ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: false }, (error, address, family) => {
      if (error) return callback(error);
      if (!allowed && isNonPublicAddress(address as string)) {
        return callback(new BlockedDestinationError('the address is not public'));
      }
      callback(null, address, family);
    });
  }) as typeof dnsLookup;
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
