import { ConfigError } from "../config.js";
import { exitCodes, UsageError } from "./cli-error.js";
import { type CliArgs, parse } from "./options.js";
import { remoteOptionsHelp } from "./remote-options.js";

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

/** A command group: its help and what runs it (exit code, or undefined: keep running). */
interface Command {
  help: string;
  run(args: CliArgs): Promise<number | undefined>;
}

/**
 * Each group's module, loaded only when that group is asked for: `--help` loads no client, `sessions list` neither
 * the database layer (apikey) nor the gateway (serve).
 */
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => {
    const m = await import("./serve-command.js");
    return { help: m.serveHelp, run: () => m.serveCommand() };
  },
  apikey: async () => {
    const m = await import("./apikey-command.js");
    return { help: m.apikeyHelp, run: m.apikeyCommand };
  },
  sessions: async () => {
    const m = await import("./sessions-command.js");
    return { help: m.sessionsHelp, run: m.sessionsCommand };
  },
  events: async () => {
    const m = await import("./events-command.js");
    return { help: m.eventsHelp, run: m.eventsCommand };
  },
  webhooks: async () => {
    const m = await import("./webhooks-command.js");
    return { help: m.webhooksHelp, run: m.webhooksCommand };
  },
};

/** Runs one command; returns the exit code (undefined: keep running). */
async function run(argv: string[]): Promise<number | undefined> {
  const args = parse(argv);
  const group = args.positionals[0];
  const load = group !== undefined && Object.hasOwn(commands, group) ? commands[group] : undefined;
  if (args.values.help || !group) {
    process.stdout.write((load ? (await load()).help : usage) + "\n");
    return args.values.help ? 0 : 2;
  }
  if (!load) throw new UsageError(`unknown command "${group}"`);
  return (await load()).run(args);
}

async function fail(err: unknown): Promise<never> {
  const nodeCode = (err as { code?: unknown }).code;
  if (err instanceof UsageError || err instanceof ConfigError || (typeof nodeCode === "string" && nodeCode.startsWith("ERR_PARSE_ARGS"))) {
    const help = err instanceof UsageError && err.help ? err.help : usage;
    process.stderr.write(`validation_error: ${(err as Error).message}\n\n${help}\n`);
    process.exit(exitCodes.validation_error);
  }
  // Only failures need the contract's error words (and connect-es, already loaded by a remote command).
  const [{ ConnectError }, { errorFields, errorWord }] = await Promise.all([import("@connectrpc/connect"), import("../errors/api-error.js")]);
  const word = errorWord(err);
  const fields = Object.entries(errorFields(err)).map(([f, m]) => `\n  ${f}: ${m}`).join("");
  const message = err instanceof ConnectError ? err.rawMessage : err instanceof Error ? err.message : String(err);
  process.stderr.write(`${word}: ${message}${fields}\n`);
  process.exit(exitCodes[word]);
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => fail(err),
);
