import { BlockList, isIP, isIPv4, isIPv6 } from "node:net";

/** Where a call came from, as the transport and the metadata tell it. */
export interface CallOrigin {
  /** grpc-js's `call.getPeer()`: "1.2.3.4:5678", "2001:db8::1:5678" (no brackets). */
  readonly peer: string;
  /** The `x-forwarded-for` metadata, if any; only believed from a trusted proxy. */
  readonly forwardedFor?: string | undefined;
}

/**
 * Parses `AUTH_TRUSTED_PROXIES` entries ("10.0.0.0/8", "192.0.2.1", "fd00::/8") into a matcher.
 * Throws a RangeError naming the first entry that is neither an address nor a CIDR block.
 */
export function trustedProxies(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const max = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== undefined && (!/^\d+$/.test(prefix ?? "") || bits > max))
    ) {
      throw new RangeError(`not an IP address or CIDR block: ${JSON.stringify(entry)}`);
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * The client address a failure budget is kept for. The TCP peer, unless it is a trusted proxy:
 * then the right-most `x-forwarded-for` entry that is not itself a trusted proxy, since every
 * entry left of the first untrusted one could have been written by the client. Nothing from a
 * peer that is not trusted is believed, so a client cannot pick its own budget.
 */
export function clientAddress(origin: CallOrigin, isTrusted: (address: string) => boolean): string {
  let address = peerHost(origin.peer);
  if (!isTrusted(address) || !origin.forwardedFor) return budgetKey(address);
  const hops = origin.forwardedFor.split(",").map((h) => hopHost(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) break;
    address = hop;
    if (!isTrusted(hop)) break;
  }
  return budgetKey(address);
}

/**
 * grpc-js's peer string without its port. It always appends the port, IPv6 unbracketed, so the
 * last ":digits" is the port even where the rest would read as an address with it.
 */
function peerHost(peer: string): string {
  const cut = peer.lastIndexOf(":");
  const host = peer.slice(0, cut);
  if (cut > 0 && /^\d+$/.test(peer.slice(cut + 1)) && isIP(host) !== 0) return unmap(host);
  return unmap(peer);
}

/** One `x-forwarded-for` entry: bare, "[v6]:port" or "v4:port". */
function hopHost(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed?.[1]) return unmap(bracketed[1]);
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return unmap(v4?.[1] ?? hop);
}

/** IPv4-mapped IPv6 ("::ffff:1.2.3.4", as a dual-stack socket reports IPv4) read as IPv4. */
function unmap(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/**
 * IPv6 is keyed by its /64, the block one host or one site is usually given, so rotating
 * addresses within it gains nothing; IPv4 by the address.
 */
function budgetKey(address: string): string {
  if (isIPv4(address) || !isIPv6(address) || address.includes(".")) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
