import { errorWord } from "../errors/api-error.js";
import { UsageError } from "./cli-error.js";
import type { CliArgs } from "./options.js";
import { eventLine, note, out } from "./output.js";
import { remoteClient } from "./remote.js";
import { remoteOptionsHelp } from "./remote-options.js";

/** Help of `events`. */
export const eventsHelp = `Usage: wa-gateway events watch [--session <id>]… [--type <type>]… [--after <eventId>] [--limit <n>]

Prints events live, one JSON line each. Resumable: pass the last printed id
as --after to continue with no gap; when the connection drops the command
reconnects by itself after the last event it printed.

  --session <id>    only these sessions (repeatable)
  --type <type>     only these types, e.g. session.status, auth.qr (repeatable)
  --after <id>      start after this event id (replays the log from there)
  --limit <n>       exit after n events

${remoteOptionsHelp}`;

/** Words that end `events watch` (anything else is retried). */
const fatal = new Set(["validation_error", "unauthorized", "forbidden", "not_found", "conflict"]);

/** `events watch`: a live, resumable event stream. */
export async function eventsCommand(args: CliArgs): Promise<number> {
  const [, command] = args.positionals;
  if (command !== "watch") throw new UsageError(`unknown command "events ${command ?? ""}"`.trim(), eventsHelp);
  const limit = args.values.limit === undefined ? Infinity : Number(args.values.limit);
  if (!(limit > 0) || !Number.isInteger(limit === Infinity ? 1 : limit)) throw new UsageError("--limit must be a positive integer", eventsHelp);
  const client = remoteClient(args).sessions;
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  process.once("SIGTERM", () => ac.abort());
  let after = args.values.after;
  let printed = 0;
  let delayMs = 500;
  while (!ac.signal.aborted) {
    try {
      const req = { sessions: args.values.session ?? [], types: args.values.type ?? [], ...(after !== undefined && { after }) };
      for await (const res of client.watchEvents(req, { signal: ac.signal })) {
        delayMs = 500;
        if (res.payload.case !== "event") continue;
        out(eventLine(res.payload.value));
        after = res.payload.value.id;
        if (++printed >= limit) return 0;
      }
    } catch (err) {
      if (ac.signal.aborted) break;
      const word = errorWord(err);
      if (fatal.has(word)) throw err;
      note(`${word}: ${err instanceof Error ? err.message : String(err)}; reconnecting${after ? ` after ${after}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, delayMs));
    delayMs = Math.min(delayMs * 2, 10_000);
  }
  return 0;
}
