import { describe, expect, it } from 'vitest';
import { TrustedProxies } from './client-address.js';

describe('TrustedProxies.clientAddress', () => {
  it('is the peer when no proxy is trusted: X-Forwarded-For cannot be forged', () => {
    const none = new TrustedProxies([]);
    expect(none.clientAddress('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
    expect(none.clientAddress('::ffff:203.0.113.9', undefined)).toBe('203.0.113.9');
  });

  it('behind trusted proxies, the nearest address that is not one of them', () => {
    const p = new TrustedProxies(['10.0.0.0/8', '::1']);
    // The balancer (10.0.0.5) appended the client's address.
    expect(p.clientAddress('::ffff:10.0.0.5', '198.51.100.7')).toBe('198.51.100.7');
    // A client that forges an address on the left is known by the address the balancer saw.
    expect(p.clientAddress('10.0.0.5', '1.2.3.4, 198.51.100.7')).toBe('198.51.100.7');
    // Two proxies in a row (10.0.0.9 forwarded to 10.0.0.5).
    expect(p.clientAddress('10.0.0.5', '198.51.100.7, 10.0.0.9')).toBe('198.51.100.7');
    // Only proxies in the chain: the leftmost.
    expect(p.clientAddress('::1', '10.1.1.1, 10.0.0.9')).toBe('10.1.1.1');
    // A peer outside the list is the client, whatever it says.
    expect(p.clientAddress('203.0.113.9', '198.51.100.7')).toBe('203.0.113.9');
    // Garbage where the proxy should have written an address: only the peer is known.
    expect(p.clientAddress('10.0.0.5', '198.51.100.7, unknown')).toBe('10.0.0.5');
  });
});
