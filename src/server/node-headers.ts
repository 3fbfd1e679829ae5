import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** A node request's headers as a fetch `Headers` (HTTP/2 pseudo-headers left out). */
export function toWebHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") out.append(name, value);
    else for (const v of value) out.append(name, v);
  }
  return out;
}

/** Fetch `Headers` as node response headers (`set-cookie` kept as a list). */
export function toNodeHeaders(headers: Headers, into: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  headers.forEach((value, name) => {
    into[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) into["set-cookie"] = cookies;
  return into;
}
