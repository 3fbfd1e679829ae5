import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Why a media URL was refused or could not be fetched. */
export class MediaFetchError extends Error {
  override name = "MediaFetchError";
}

/** Rules for fetching media URLs. */
export interface MediaFetchPolicy {
  maxBytes: number;
  timeoutMs: number;
  allowHttp: boolean;
  allowPrivate: boolean;
}

/** A fetched file. */
export interface FetchedMedia {
  data: Buffer;
  /** The Content-Type the server gave, without parameters. */
  contentType: string | undefined;
}

/** Addresses a media URL may not reach unless private networks are allowed. */
const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["2001:db8::", 32], ["64:ff9b::", 96]] as const) {
  blocked.addSubnet(net, bits, "ipv6");
}

/** True when `ip` is private, loopback, link-local or otherwise not a public unicast address. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blocked.check(ip, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return blocked.check(mapped[1]!, "ipv4");
    return blocked.check(ip, "ipv6");
  }
  return true;
}

/**
 * Checks a media URL's form without fetching it: `https:` (or `http:` when
 * allowed), no credentials, and no literal private address unless allowed.
 * Returns the problem, or undefined when it may be fetched.
 */
export function mediaUrlProblem(raw: string, policy: MediaFetchPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && !(policy.allowHttp && url.protocol === "http:")) return policy.allowHttp ? "must be an http or https URL" : "must be an https URL";
  if (url.username || url.password) return "must not carry credentials";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!policy.allowPrivate) {
    if (isIP(host) && isPrivateAddress(host)) return "points to a private, loopback or link-local address";
    if (host === "localhost" || host.endsWith(".localhost")) return "points to a private, loopback or link-local address";
  }
  return undefined;
}

/** A DNS lookup that refuses private answers (checked at connect time, so a rebinding name cannot slip through). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, "", 4);
    const list = addresses as unknown as { address: string; family: number }[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: "EPRIVATE" }), "", 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/**
 * Fetches a media URL under `policy`: scheme and address rules (every
 * resolved address and every redirect checked), at most `maxBytes`, within
 * `timeoutMs`. Any refusal or failure is a {@link MediaFetchError}.
 */
export async function fetchMedia(raw: string, policy: MediaFetchPolicy, redirects = 3): Promise<FetchedMedia> {
  const problem = mediaUrlProblem(raw, policy);
  if (problem) throw new MediaFetchError(`media URL ${problem}`);
  const url = new URL(raw);
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  return new Promise<FetchedMedia>((resolve, reject) => {
    const fail = (msg: string) => reject(new MediaFetchError(msg));
    const client = url.protocol === "https:" ? https : http;
    const req = client.get(url, { lookup: policy.allowPrivate ? undefined : guardedLookup, signal: deadline, headers: { accept: "*/*" } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return fail("media URL redirects too often");
        const next = new URL(res.headers.location, url).toString();
        return fetchMedia(next, policy, redirects - 1).then(resolve, reject);
      }
      if (status !== 200) {
        res.resume();
        return fail(`media URL answered HTTP ${status}`);
      }
      const length = Number(res.headers["content-length"] ?? NaN);
      if (Number.isFinite(length) && length > policy.maxBytes) {
        res.destroy();
        return fail(`media is ${length} bytes, over the ${policy.maxBytes}-byte limit`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > policy.maxBytes) {
          res.destroy();
          fail(`media is over the ${policy.maxBytes}-byte limit`);
        } else chunks.push(c);
      });
      res.on("end", () => {
        if (size > policy.maxBytes) return;
        const type = res.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
        resolve({ data: Buffer.concat(chunks), contentType: type || undefined });
      });
      res.on("error", (err) => fail(`media download failed: ${err.message}`));
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (deadline.aborted) return fail(`media URL did not answer within ${policy.timeoutMs} ms`);
      fail(err.code === "EPRIVATE" ? `media URL ${err.message}` : `media URL could not be fetched: ${err.message}`);
    });
  });
}
