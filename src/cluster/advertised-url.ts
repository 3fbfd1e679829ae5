import { networkInterfaces } from "node:os";
import type { Config } from "../config.js";

/**
 * The URL other gateways use to reach this one when `GATEWAY_URL` is not
 * set: the bound host and port, or, when bound to every interface, the
 * first non-internal IPv4 address (loopback when there is none).
 */
export function advertisedUrl(config: Config, port: number): string {
  const scheme = config.tls ? "https" : "http";
  let host = config.host;
  if (host === "0.0.0.0" || host === "::" || host === "") {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal);
    host = external?.address ?? "127.0.0.1";
  }
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
