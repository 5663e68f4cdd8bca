import { BlockList, isIP } from 'node:net';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`; others as they are. */
function plain(address: string): string {
  const a = address.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** An address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`, `fd00::/8`); else why not, as a sentence's tail. */
export function checkProxyEntry(entry: string): string | undefined {
  const [ip, bits, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined)
    return `"${entry}" is not an IP address or a range such as 10.0.0.0/8`;
  if (bits === undefined) return undefined;
  const n = Number(bits);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || n > max) return `"${entry}" has a prefix length outside 0–${max}`;
  return undefined;
}

/**
 * Which peers may say who the client is. Behind a load balancer every
 * request's peer is the balancer; with its address here (TRUSTED_PROXIES)
 * the client's address is read from `X-Forwarded-For`, right to left,
 * skipping the trusted proxies a request passed through: the first address
 * that is not one is the client (an address a client wrote itself further
 * left is never believed). With no trusted proxies the peer is the client
 * and the header is ignored, so nobody can forge their address.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** `entries` must pass `checkProxyEntry` (the config did). */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const [ip, bits] = e.split('/') as [string, string | undefined];
      const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(bits), type);
    }
    this.size = entries.length;
  }

  /** The client's address for per-address limits, from the peer and the request's `X-Forwarded-For`. */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    const p = plain(peer);
    if (this.size === 0 || !forwardedFor || !this.trusts(p)) return p;
    const hops = forwardedFor.split(',').map(plain);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return p; // garbage in the chain: believe only the peer
      if (i === 0 || !this.trusts(hop)) return hop;
    }
    return p;
  }

  private trusts(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
