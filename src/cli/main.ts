import { ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../config.js";
import { errorFields, errorWord } from "../errors/api-error.js";
import { apikeyCommand, apikeyHelp } from "./apikey-command.js";
import { exitCodes, UsageError } from "./cli-error.js";
import { eventsCommand, eventsHelp } from "./events-command.js";
import { parse } from "./options.js";
import { remoteOptionsHelp } from "./remote.js";
import { serveCommand, serveHelp } from "./serve-command.js";
import { sessionsCommand, sessionsHelp } from "./sessions-command.js";
import { webhooksCommand, webhooksHelp } from "./webhooks-command.js";

const usage = `Usage: wa-gateway <command> [options]      (in this repository: npm run --silent cli -- <command>)

Commands:
  serve                                   run the gateway
  apikey create|list|revoke               API keys, on the database directly
  sessions list|create|get|start|stop|logout|delete|qr
                                          sessions, through a running gateway
  events watch                            live, resumable event stream
  webhooks list|create|get|update|delete|rotate-secret|test|deliveries|replay
                                          webhook endpoints, through a running gateway

Run "wa-gateway <command> --help" for a command's options.

${remoteOptionsHelp}

Output: results on stdout (JSON lines); messages on stderr. Failures print
"<word>: <message>" with the contract's error word and exit with
${Object.entries(exitCodes).sort((a, b) => a[1] - b[1]).map(([w, c]) => `${c} ${w}`).join(", ")}.`;

const helps: Record<string, string> = { serve: serveHelp, apikey: apikeyHelp, sessions: sessionsHelp, events: eventsHelp, webhooks: webhooksHelp };

/** Runs one command; returns the exit code (undefined: keep running). */
async function run(argv: string[]): Promise<number | undefined> {
  const args = parse(argv);
  const group = args.positionals[0];
  if (args.values.help || !group) {
    process.stdout.write((group && helps[group] ? helps[group] : usage) + "\n");
    return args.values.help ? 0 : 2;
  }
  switch (group) {
    case "serve":
      return serveCommand();
    case "apikey":
      return apikeyCommand(args);
    case "sessions":
      return sessionsCommand(args);
    case "events":
      return eventsCommand(args);
    case "webhooks":
      return webhooksCommand(args);
    default:
      throw new UsageError(`unknown command "${group}"`);
  }
}

function fail(err: unknown): never {
  const nodeCode = (err as { code?: unknown }).code;
  if (err instanceof UsageError || err instanceof ConfigError || (typeof nodeCode === "string" && nodeCode.startsWith("ERR_PARSE_ARGS"))) {
    const help = err instanceof UsageError && err.help ? err.help : usage;
    process.stderr.write(`validation_error: ${(err as Error).message}\n\n${help}\n`);
    process.exit(exitCodes.validation_error);
  }
  const word = errorWord(err);
  const fields = Object.entries(errorFields(err)).map(([f, m]) => `\n  ${f}: ${m}`).join("");
  const message = err instanceof ConnectError ? err.rawMessage : err instanceof Error ? err.message : String(err);
  process.stderr.write(`${word}: ${message}${fields}\n`);
  process.exit(exitCodes[word]);
}

run(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exit(code);
}, fail);
