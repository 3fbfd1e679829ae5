import { isIPv4, isIPv6 } from "node:net";

/**
 * Internal request header naming the caller's network address, as
 * {@link clientKey} gives it. The gateway's front sets it on every request
 * (overwriting whatever a client sent), so interceptors see it for every
 * protocol, REST included.
 */
export const clientAddressHeader = "x-wagateway-client";

/**
 * The key a client is known by: its IPv4 address (IPv4-mapped IPv6 included),
 * or the /64 prefix of its IPv6 address (one host's share of a network);
 * `unknown` when the socket has no address.
 */
export function clientKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "unknown";
  const address = remoteAddress.split("%")[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** The eight groups of an IPv6 address, expanded. */
function ipv6Groups(address: string): string[] {
  const [head, tail] = address.split("::") as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(":") : []);
  const left = parse(head);
  const right = parse(tail);
  const last = right.length > 0 ? right : left;
  // An embedded IPv4 tail (a.b.c.d) stands for two groups.
  if (last.length > 0 && isIPv4(last[last.length - 1]!)) {
    const [a, b, c, d] = last.pop()!.split(".").map(Number) as [number, number, number, number];
    last.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16).toString(16));
}
