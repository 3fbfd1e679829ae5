import { BlockList, isIP, isIPv4 } from "node:net";

/** The caller as the gateway sees it: its address and the scheme it used (when a trusted proxy says so). */
export interface ClientOrigin {
  address: string | undefined;
  /** `http` or `https` from `Forwarded: proto=` / `X-Forwarded-Proto`; undefined when not forwarded by a trusted proxy. */
  scheme: "http" | "https" | undefined;
}

/** Trusted proxy networks (`TRUSTED_PROXIES`), parsed once. */
export interface TrustedProxies {
  /** The CIDRs as given (normalized), for the log. */
  cidrs: string[];
  /** True when `address` is inside one of the networks. */
  has(address: string): boolean;
}

/**
 * Parses `TRUSTED_PROXIES` entries (`10.0.0.0/8`, `fd00::/8`, a bare address = a /32 or /128).
 * Returns the invalid entry's text as `bad` instead of throwing, so the config module names the variable.
 */
export function parseTrustedProxies(entries: string[]): TrustedProxies | { bad: string } {
  const list = new BlockList();
  const cidrs: string[] = [];
  for (const entry of entries) {
    const [net, prefixText, extra] = entry.split("/");
    const type = isIP(net ?? "");
    if (!net || type === 0 || extra !== undefined) return { bad: entry };
    const max = type === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= max)) return { bad: entry };
    list.addSubnet(net, prefix, type === 4 ? "ipv4" : "ipv6");
    cidrs.push(`${net}/${prefix}`);
  }
  return {
    cidrs,
    has(address) {
      const a = unmapped(address);
      const type = isIP(a);
      return type !== 0 && list.check(a, type === 4 ? "ipv4" : "ipv6");
    },
  };
}

/** `::ffff:a.b.c.d` → `a.b.c.d`; drops an IPv6 zone. */
function unmapped(address: string): string {
  const a = address.split("%")[0]!;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1]! : a;
}

interface Hop {
  /** The node's address, or undefined for an obfuscated/unknown identifier. */
  address: string | undefined;
  proto: string | undefined;
}

/** RFC 7239 `Forwarded` elements, left (client side) to right (nearest proxy). */
function forwardedHops(header: string): Hop[] {
  return header.split(",").map((element) => {
    const hop: Hop = { address: undefined, proto: undefined };
    for (const pair of element.split(";")) {
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, "$1");
      if (key === "for") hop.address = nodeAddress(value);
      else if (key === "proto") hop.proto = value.toLowerCase();
    }
    return hop;
  });
}

/** The address of a `for=` node (`192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`); undefined for `unknown`/`_hidden`. */
function nodeAddress(node: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
  if (bracketed) return isIP(bracketed[1]!) === 6 ? bracketed[1] : undefined;
  if (isIP(node) !== 0) return node;
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(node);
  return v4port && isIPv4(v4port[1]!) ? v4port[1] : undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Where a request comes from. Only when the TCP peer is a trusted proxy are `Forwarded` (preferred) or
 * `X-Forwarded-For` read: walking from the nearest hop back, trusted proxies are skipped and the first
 * address that is not one is the client (so a client cannot forge its way in by prepending addresses);
 * the scheme comes from that hop's `proto=` or the nearest `X-Forwarded-Proto` value. Anyone else's
 * headers are ignored.
 */
export function clientOrigin(
  peer: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  trusted: TrustedProxies | undefined,
): ClientOrigin {
  if (!peer || !trusted || !trusted.has(peer)) return { address: peer, scheme: undefined };
  const forwarded = headerText(headers["forwarded"]);
  let hops: Hop[];
  if (forwarded !== undefined) hops = forwardedHops(forwarded);
  else {
    const xff = headerText(headers["x-forwarded-for"]);
    if (xff === undefined) return { address: peer, scheme: undefined };
    const protos = (headerText(headers["x-forwarded-proto"]) ?? "").split(",").map((p) => p.trim().toLowerCase()).filter(Boolean);
    hops = xff.split(",").map((a) => ({ address: nodeAddress(a.trim()), proto: undefined }));
    if (hops.length > 0) hops[hops.length - 1]!.proto = protos.at(-1);
  }
  let chosen: Hop | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    chosen = hop;
    if (hop.address === undefined || !trusted.has(hop.address)) break;
  }
  if (!chosen) return { address: peer, scheme: undefined };
  const proto = chosen.proto ?? hops.at(-1)?.proto;
  // An obfuscated client (`for=unknown`) stays the proxy's: its requests are still counted somewhere.
  return { address: chosen.address ?? peer, scheme: proto === "https" || proto === "http" ? proto : undefined };
}
