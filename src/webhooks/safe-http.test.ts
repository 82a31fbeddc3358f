import type { LookupAddress, LookupOptions } from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestReceiver } from '../../test/support/receiver.ts';
import {
  BlockedDestinationError,
  checkWebhookUrl,
  isNonPublicAddress,
  type OutboundPolicy,
  publicAddressLookup,
  sendOutbound,
} from './safe-http.ts';

const nobodyAllowed: OutboundPolicy = { requireHttps: false, allowedHosts: new Set() };
const localhostAllowed: OutboundPolicy = { requireHttps: false, allowedHosts: new Set(['localhost']) };

describe('sendOutbound to a hostname', () => {
  let receiver: TestReceiver;
  let localhostUrl: URL;

  beforeAll(async () => {
    receiver = new TestReceiver();
    localhostUrl = new URL(await receiver.start());
    localhostUrl.hostname = 'localhost';
  });
  afterEach(() => {
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('reaches the receiver when the hostname is allowed', async () => {
    const response = await sendOutbound(
      { url: `${localhostUrl.origin}/hook`, method: 'POST', headers: {}, body: '{"hello":"world"}', timeoutMs: 5_000 },
      localhostAllowed,
    );
    expect(response.status).toBe(204);
    const [received] = await receiver.waitFor(1);
    expect(received?.path).toBe('/hook');
    expect(received?.body).toBe('{"hello":"world"}');
  });

  it('refuses the hostname when it is not allowed, without reaching the receiver', async () => {
    await expect(
      sendOutbound(
        { url: `${localhostUrl.origin}/hook`, method: 'POST', headers: {}, body: '{}', timeoutMs: 5_000 },
        nobodyAllowed,
      ),
    ).rejects.toBeInstanceOf(BlockedDestinationError);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('publicAddressLookup (the connect-time check)', () => {
  function lookup(allowed: boolean, hostname: string, options: LookupOptions) {
    return new Promise<{ address: string | LookupAddress[]; family: number | undefined }>((resolve, reject) => {
      publicAddressLookup(allowed)(hostname, options, (error, address, family) =>
        error ? reject(error) : resolve({ address, family }),
      );
    });
  }

  // The name rule in checkWebhookUrl refuses "localhost" before any socket opens; this is the check that still
  // holds for a name that passes that rule and resolves to loopback, as a rebinding name would at connect time.
  it('refuses a name that resolves to loopback, in both answer shapes', async () => {
    await expect(lookup(false, 'localhost', { all: true })).rejects.toBeInstanceOf(BlockedDestinationError);
    await expect(lookup(false, 'localhost', {})).rejects.toBeInstanceOf(BlockedDestinationError);
  });

  it('answers every address when the socket asks for all of them, as happy eyeballs does', async () => {
    const { address } = await lookup(true, 'localhost', { all: true });
    expect(Array.isArray(address)).toBe(true);
    expect(address).toContainEqual({ address: '127.0.0.1', family: 4 });
  });

  it('answers one address and its family when the socket asks for one', async () => {
    const { address, family } = await lookup(true, 'localhost', { family: 4 });
    expect(address).toBe('127.0.0.1');
    expect(family).toBe(4);
  });
});

describe('isNonPublicAddress', () => {
  it('judges IPv6 forms that carry an IPv4 address by that address', () => {
    for (const address of [
      '::7f00:1', // IPv4-compatible (deprecated) 127.0.0.1
      '::127.0.0.1',
      '::ffff:127.0.0.1', // IPv4-mapped
      '::ffff:7f00:1',
      '[::ffff:10.0.0.1]', // as URL.hostname writes it
      '::ffff:0:7f00:1', // IPv4-translated
      '64:ff9b::7f00:1', // NAT64
      '64:ff9b::169.254.169.254',
    ]) {
      expect(isNonPublicAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.216.34', '::ffff:93.184.216.34', '::ffff:5db8:d822', '64:ff9b::5db8:d822']) {
      expect(isNonPublicAddress(address), address).toBe(false);
    }
  });

  it('refuses the local-use NAT64 prefix, whose embedding depends on the network', () => {
    expect(isNonPublicAddress('64:ff9b:1::7f00:1')).toBe(true);
  });

  it('treats anything that is not an IP address as non-public', () => {
    expect(isNonPublicAddress('example.com')).toBe(true);
    expect(isNonPublicAddress('')).toBe(true);
  });
});

describe('checkWebhookUrl', () => {
  it('refuses IPv6 literals that embed a loopback IPv4 address', () => {
    for (const url of ['http://[::7f00:1]/x', 'http://[::ffff:7f00:1]/x', 'http://[64:ff9b::7f00:1]/x']) {
      expect(() => checkWebhookUrl(url, nobodyAllowed), url).toThrow(BlockedDestinationError);
    }
  });
});
