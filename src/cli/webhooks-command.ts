import { UsageError } from "./cli-error.js";
import type { CliArgs } from "./options.js";
import { deliveryLine, note, out, webhookLine } from "./output.js";
import { remoteClient } from "./remote.js";
import { remoteOptionsHelp } from "./remote-options.js";

/** Help of `webhooks`. */
export const webhooksHelp = `Usage: wa-gateway webhooks <command> [options]

  webhooks list                       one JSON line per endpoint
  webhooks create <url> [--event-type <type|prefix.*>]... [--session <id>]... [--description <text>]
                                      prints the endpoint, then the signing secret
                                      alone on the last line (shown only now)
  webhooks get <id>
  webhooks update <id> [<url>] [--event-type …]... [--session …]... [--description <text>]
                       [--enable | --disable]
  webhooks delete <id>
  webhooks rotate-secret <id>         prints the new secret alone on stdout
  webhooks test <id>                  sends a signed webhook.test event; prints the attempt
  webhooks deliveries <id> [--outcome succeeded|failed] [--limit <n>] [--cursor <c>]
                                      one JSON line per attempt, newest first
  webhooks replay <id> (--after <eventId> | --since <epoch ms>)

${remoteOptionsHelp}`;

const single = ["get", "update", "delete", "rotate-secret", "test", "deliveries", "replay"];

/** `webhooks …` through the gateway's API. */
export async function webhooksCommand(args: CliArgs): Promise<number> {
  const [, command, arg, arg2] = args.positionals;
  if (!command || !["list", "create", ...single].includes(command)) {
    throw new UsageError(`unknown command "webhooks ${command ?? ""}"`.trim(), webhooksHelp);
  }
  if (command === "create" && !arg) throw new UsageError("webhooks create needs a URL", webhooksHelp);
  if (single.includes(command) && !arg) throw new UsageError(`webhooks ${command} needs a webhook id`, webhooksHelp);
  if (args.values.enable && args.values.disable) throw new UsageError("--enable and --disable exclude each other", webhooksHelp);
  const client = remoteClient(args).webhooks;
  const webhook = arg ?? "";
  const eventTypes = args.values["event-type"] ?? [];
  const sessions = args.values.session ?? [];
  switch (command) {
    case "list":
      for (const w of (await client.listWebhooks({})).webhooks) out(webhookLine(w));
      return 0;
    case "create": {
      const res = await client.createWebhook({ url: webhook, eventTypes, sessions, description: args.values.description });
      out(webhookLine(res.webhook!));
      note("the signing secret follows; it is not shown again");
      out(res.secret);
      return 0;
    }
    case "get":
      out(webhookLine((await client.getWebhook({ webhook })).webhook!));
      return 0;
    case "update": {
      const enabled = args.values.enable ? true : args.values.disable ? false : undefined;
      const res = await client.updateWebhook({ webhook, url: arg2, eventTypes, sessions, description: args.values.description, enabled });
      out(webhookLine(res.webhook!));
      return 0;
    }
    case "delete":
      await client.deleteWebhook({ webhook });
      return 0;
    case "rotate-secret": {
      const res = await client.rotateWebhookSecret({ webhook });
      note(`the previous secret keeps signing until ${new Date(Number(res.previousValidUntil)).toISOString()}`);
      out(res.secret);
      return 0;
    }
    case "test":
      out(deliveryLine((await client.sendTestEvent({ webhook })).delivery!));
      return 0;
    case "deliveries": {
      const pageSize = args.values.limit === undefined ? 0 : Number(args.values.limit);
      if (!Number.isInteger(pageSize)) throw new UsageError("--limit must be an integer", webhooksHelp);
      const res = await client.listDeliveries({ webhook, outcome: args.values.outcome, pageSize, cursor: args.values.cursor });
      for (const d of res.deliveries) out(deliveryLine(d));
      if (res.nextCursor) note(`more: --cursor ${res.nextCursor}`);
      return 0;
    }
    default: {
      if (args.values.since !== undefined && !/^\d+$/.test(args.values.since)) throw new UsageError("--since must be epoch milliseconds", webhooksHelp);
      const since = args.values.since === undefined ? undefined : BigInt(args.values.since);
      const res = await client.replayEvents({ webhook, after: args.values.after, since });
      note(`delivering again every matching event after ${res.after}`);
      return 0;
    }
  }
}
