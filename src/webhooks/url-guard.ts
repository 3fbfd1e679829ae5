import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** What endpoint URLs may point at (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE`). */
export interface UrlPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

/** Destinations a webhook may not reach unless private ones are allowed. */
const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, bits, "ipv6");
}

/** True when `address` (an IP literal) is private, loopback, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped/compatible and NAT64 forms carry an IPv4 address: judge that one.
  const embedded = /^(?:::ffff:|::ffff:0:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (embedded) return blocked.check(embedded[1]!, "ipv4");
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const hi = parseInt(mappedHex[1]!, 16);
    const lo = parseInt(mappedHex[2]!, 16);
    return blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, "ipv4");
  }
  return blocked.check(address, "ipv6");
}

/**
 * Checks an endpoint URL when it is saved: scheme, no fragment, and every
 * address its host resolves to. Returns the problem, or undefined when fine.
 */
export async function urlProblem(raw: string, policy: UrlPolicy): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    return policy.allowHttp ? "must be an http or https URL" : "must be an https URL";
  }
  if (url.hash !== "") return "must not have a fragment";
  if (policy.allowPrivate) return undefined;
  const host = hostOf(url);
  if (isIP(host) !== 0) return isPrivateAddress(host) ? "must not point at a private, loopback or link-local address" : undefined;
  if (host === "localhost" || host.endsWith(".localhost")) return "must not point at a private, loopback or link-local address";
  let addresses: { address: string }[];
  try {
    addresses = await dnsLookup(host, { all: true, verbatim: true });
  } catch {
    return "host does not resolve";
  }
  if (addresses.length === 0) return "host does not resolve";
  if (addresses.some((a) => isPrivateAddress(a.address))) return "must not point at a private, loopback or link-local address";
  return undefined;
}

/** The URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** Raised through a connection attempt whose destination the policy refuses. */
export class BlockedAddressError extends Error {
  override name = "BlockedAddressError";
  readonly code = "EWEBHOOKBLOCKED";
}

/**
 * A `lookup` for sockets: resolves the host itself and hands the socket only
 * addresses the policy allows, so every connection goes to a checked address
 * (a DNS answer that changed since the URL was saved is checked again).
 */
export function guardedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    const done = (addresses: { address: string; family: number }[]) => {
      const allowed = policy.allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        callback(new BlockedAddressError(`${host} resolves only to addresses webhooks may not reach`) as NodeJS.ErrnoException, "", 4);
        return;
      }
      if (options.all) (callback as unknown as (e: null, a: typeof allowed) => void)(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    };
    const family = isIP(host);
    if (family !== 0) {
      done([{ address: host, family }]);
      return;
    }
    dnsLookup(host, { all: true, verbatim: true, family: options.family === 6 ? 6 : options.family === 4 ? 4 : 0 }).then(
      (list) => done(list),
      (err: NodeJS.ErrnoException) => callback(err, "", 4),
    );
  };
}
