import { protocols } from "../client/protocol.js";

/** Help text of the options every remote command takes (its own module: `wa-gateway --help` loads no client). */
export const remoteOptionsHelp = `Connection (every command except serve and apikey):
  --url <url>          gateway base URL (env WA_GATEWAY_URL; default http://127.0.0.1:8080)
  --token <token>      API key or login JWT (env WA_GATEWAY_TOKEN)
  --protocol <name>    ${protocols.join(" | ")} (default connect)`;
