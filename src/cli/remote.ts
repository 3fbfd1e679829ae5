import { createGatewayClient, type GatewayClient } from "../client/create-gateway-client.js";
import { isProtocol, protocols } from "../client/protocol.js";
import { UsageError } from "./cli-error.js";
import type { CliArgs } from "./options.js";
import { remoteOptionsHelp } from "./remote-options.js";

/** A typed client for the gateway named by `--url`/`--token` or the environment. */
export function remoteClient(args: CliArgs, env: NodeJS.ProcessEnv = process.env): GatewayClient {
  const baseUrl = args.values.url ?? env.WA_GATEWAY_URL ?? "http://127.0.0.1:8080";
  const token = args.values.token ?? env.WA_GATEWAY_TOKEN;
  const protocol = args.values.protocol ?? "connect";
  if (!isProtocol(protocol)) throw new UsageError(`--protocol must be one of ${protocols.join(", ")}`, remoteOptionsHelp);
  if (!/^https?:\/\//.test(baseUrl)) throw new UsageError(`--url must be an http:// or https:// URL, got "${baseUrl}"`);
  if (!token) throw new UsageError("a token is required: --token or WA_GATEWAY_TOKEN", remoteOptionsHelp);
  return createGatewayClient({ baseUrl, token, protocol });
}
