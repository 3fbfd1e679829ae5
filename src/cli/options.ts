import { parseArgs } from "node:util";

/** Every option the commands understand (each command reads the ones it documents). */
export const optionSpec = {
  help: { type: "boolean", short: "h" },
  // database commands
  org: { type: "string" },
  name: { type: "string" },
  permissions: { type: "string" },
  // remote commands
  url: { type: "string" },
  token: { type: "string" },
  protocol: { type: "string" },
  label: { type: "string" },
  start: { type: "boolean" },
  session: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
  after: { type: "string" },
  limit: { type: "string" },
  // webhooks
  "event-type": { type: "string", multiple: true },
  description: { type: "string" },
  enable: { type: "boolean" },
  disable: { type: "boolean" },
  since: { type: "string" },
  outcome: { type: "string" },
  cursor: { type: "string" },
} as const;

/** Parsed command line. */
export type CliArgs = ReturnType<typeof parse>;

/** Parses `argv` strictly (an unknown option is a validation_error). */
export function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options: optionSpec });
}
