import type { Session } from "../../gen/wagateway/v1/session_pb.js";
import { UsageError } from "./cli-error.js";
import type { CliArgs } from "./options.js";
import { out, sessionLine } from "./output.js";
import { remoteClient } from "./remote.js";
import { remoteOptionsHelp } from "./remote-options.js";

/** Help of `sessions`. */
export const sessionsHelp = `Usage: wa-gateway sessions <command> [options]

  sessions list                       one JSON line per session
  sessions create [--label <text>] [--start]
  sessions get <id>
  sessions start|stop|logout <id>     prints the session after the change
  sessions delete <id>
  sessions qr <id>                    shows the QR code in the terminal, redrawn
                                      as it rotates, until the session is paired

${remoteOptionsHelp}`;

const single = ["get", "start", "stop", "logout", "delete", "qr"];

/** `sessions …` through the gateway's API. */
export async function sessionsCommand(args: CliArgs): Promise<number> {
  const [, command, id] = args.positionals;
  if (!command || !["list", "create", ...single].includes(command)) {
    throw new UsageError(`unknown command "sessions ${command ?? ""}"`.trim(), sessionsHelp);
  }
  if (single.includes(command) && !id) throw new UsageError(`sessions ${command} needs a session id`, sessionsHelp);
  const client = remoteClient(args).sessions;
  const session = id ?? "";
  const print = (s: Session | undefined) => {
    if (s) out(sessionLine(s));
    return 0;
  };
  switch (command) {
    case "list":
      for (const s of (await client.listSessions({})).sessions) out(sessionLine(s));
      return 0;
    case "create":
      return print((await client.createSession({ label: args.values.label, start: args.values.start })).session);
    case "get":
      return print((await client.getSession({ session })).session);
    case "start":
      return print((await client.startSession({ session })).session);
    case "stop":
      return print((await client.stopSession({ session })).session);
    case "logout":
      return print((await client.logoutSession({ session })).session);
    case "delete":
      await client.deleteSession({ session });
      return 0;
    default: {
      // The QR renderer loads only for `sessions qr`.
      const { qrCommand } = await import("./qr-command.js");
      return qrCommand(client, session);
    }
  }
}
