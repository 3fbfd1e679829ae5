import { toApiKeyMessage } from "../api-keys/api-key-message.js";
import { createApiKeyRepository } from "../api-keys/api-key-repository.js";
import { validateNewApiKey } from "../api-keys/api-key-validation.js";
import { isCapability } from "../auth/principal.js";
import { loadConfig } from "../config.js";
import { migrateToLatest } from "../db/migrate.js";
import { openDatabase } from "../db/open-database.js";
import { apiError } from "../errors/api-error.js";
import { isUlid } from "../util/ulid.js";
import { UsageError } from "./cli-error.js";
import type { CliArgs } from "./options.js";
import { apiKeyLine, note, out } from "./output.js";

/** Help of `apikey`. */
export const apikeyHelp = `Usage: wa-gateway apikey <create|list|revoke> --org <orgId> …

Works on the configured database directly (DATABASE_URL, or the embedded
database under DATA_DIR; stop a gateway that holds an embedded database first).

  apikey create --org <orgId> --name <name> --permissions manage,read
      Creates a key (and the organization if new). Prints the secret alone on
      stdout, so KEY=$(wa-gateway apikey create ...) works.
  apikey list --org <orgId>
      Prints the organization's keys, one JSON object per line.
  apikey revoke --org <orgId> <keyId>
      Revokes a key. Gateways stop accepting it within API_KEY_CACHE_TTL_MS.`;

/** `apikey create|list|revoke` on the database. */
export async function apikeyCommand(args: CliArgs): Promise<number> {
  const [, command, id] = args.positionals;
  if (!command || !["create", "list", "revoke"].includes(command)) throw new UsageError(`unknown command "apikey ${command ?? ""}"`.trim(), apikeyHelp);
  const org = args.values.org;
  if (!org) throw new UsageError("--org is required", apikeyHelp);
  const config = loadConfig();
  const { db } = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    await migrateToLatest(db);
    const repo = createApiKeyRepository(db);
    if (command === "create") {
      const perms = (args.values.permissions ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
      const permissions = validateNewApiKey(args.values.name ?? "", perms.map((p) => (isCapability(p) ? p : undefined)));
      const { row, secret } = await repo.create({ organizationId: org, name: (args.values.name ?? "").trim(), permissions });
      note(`created API key ${row.id} (${row.permissions.join(",")}) in ${org}`);
      out(secret);
      return 0;
    }
    if (command === "list") {
      for (const row of await repo.list(org)) out(apiKeyLine(toApiKeyMessage(row)));
      return 0;
    }
    const keyId = id?.toUpperCase();
    if (!keyId) throw new UsageError("the key id to revoke is required", apikeyHelp);
    const row = isUlid(keyId) ? await repo.revoke(org, keyId) : undefined;
    if (!row) throw apiError("not_found", `no API key ${keyId} in ${org}`);
    note(`revoked API key ${row.id}`);
    return 0;
  } finally {
    await db.destroy();
  }
}
