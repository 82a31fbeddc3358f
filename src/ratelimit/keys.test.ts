import { describe, expect, it } from 'vitest';
import { clientIpKey } from './keys.ts';

describe('client IP rate limit keys', () => {
  it('keys IPv4 per address, written plainly or IPv4-mapped', () => {
    expect(clientIpKey('203.0.113.5')).toBe('ip:203.0.113.5');
    expect(clientIpKey('::ffff:203.0.113.5')).toBe('ip:203.0.113.5');
    expect(clientIpKey('203.0.113.6')).not.toBe(clientIpKey('203.0.113.5'));
  });

  it('keys IPv6 per /64, whatever the spelling of the address', () => {
    const key = clientIpKey('2001:db8:1:2::9');
    expect(key).toBe('ip6:2001:db8:1:2::/64');
    expect(clientIpKey('2001:0db8:0001:0002:0003:0004:0005:0006')).toBe(key);
    expect(clientIpKey('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe(key);
    expect(clientIpKey('2001:db8:1:3::9')).not.toBe(key);
    expect(clientIpKey('::1')).toBe('ip6:0:0:0:0::/64');
    expect(clientIpKey('2001:db8::')).toBe('ip6:2001:db8:0:0::/64');
    expect(clientIpKey('fe80::1%eth0')).toBe('ip6:fe80:0:0:0::/64');
    // A dotted tail fills two groups, so the groups before it keep their places.
    expect(clientIpKey('1::2:3:4:5:1.2.3.4')).toBe('ip6:1:0:2:3::/64');
  });

  it('passes anything that is not an IP address through, so it still gets a bucket of its own', () => {
    expect(clientIpKey('unknown')).toBe('ip:unknown');
  });
});
