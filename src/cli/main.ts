import { parseArgs } from "node:util";
import { createApiKeyRepository } from "../api-keys/api-key-repository.js";
import { validateNewApiKey } from "../api-keys/api-key-validation.js";
import { isCapability } from "../auth/principal.js";
import { ConfigError, loadConfig } from "../config.js";
import { migrateToLatest } from "../db/migrate.js";
import { openDatabase } from "../db/open-database.js";
import { errorFields, errorWord } from "../errors/api-error.js";
import { isUlid } from "../util/ulid.js";

const usage = `Usage: npm run --silent cli -- <command>

Works on the configured database directly (DATABASE_URL, or the embedded
database under DATA_DIR; stop a gateway that holds an embedded database first).

Commands:
  apikey create --org <orgId> --name <name> --permissions manage,read
      Creates a key (and the organization if new). Prints the secret alone on
      stdout, so KEY=$(npm run --silent cli -- apikey create ...) works.
  apikey list --org <orgId>
      Prints the organization's keys, one JSON object per line.
  apikey revoke --org <orgId> <keyId>
      Revokes a key. Gateways stop accepting it within API_KEY_CACHE_TTL_MS.

Exit codes: 0 ok, 2 validation_error (bad arguments), 3 not_found, 1 other errors.`;

class UsageError extends Error {}

/** Runs one CLI command; returns the exit code. */
async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: "string" },
      name: { type: "string" },
      permissions: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || !group) {
    process.stderr.write(usage + "\n");
    return values.help ? 0 : 2;
  }
  if (group !== "apikey" || !command || !["create", "list", "revoke"].includes(command)) {
    throw new UsageError(`unknown command "${positionals.join(" ")}"`);
  }
  const org = values.org;
  if (!org) throw new UsageError("--org is required");

  const config = loadConfig();
  const { db } = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    await migrateToLatest(db);
    const repo = createApiKeyRepository(db);
    if (command === "create") {
      const perms = (values.permissions ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
      const permissions = validateNewApiKey(values.name ?? "", perms.map((p) => (isCapability(p) ? p : undefined)));
      const { row, secret } = await repo.create({ organizationId: org, name: (values.name ?? "").trim(), permissions });
      process.stderr.write(`created API key ${row.id} (${row.permissions.join(",")}) in ${org}\n`);
      process.stdout.write(secret + "\n");
      return 0;
    }
    if (command === "list") {
      for (const row of await repo.list(org)) {
        const { key_hash: _hash, ...shown } = row;
        process.stdout.write(JSON.stringify(shown) + "\n");
      }
      return 0;
    }
    const id = rest[0]?.toUpperCase();
    if (!id) throw new UsageError("the key id to revoke is required");
    const row = isUlid(id) ? await repo.revoke(org, id) : undefined;
    if (!row) {
      process.stderr.write(`not_found: no API key ${id} in ${org}\n`);
      return 3;
    }
    process.stderr.write(`revoked API key ${row.id}\n`);
    return 0;
  } finally {
    await db.destroy();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const nodeCode = (err as { code?: unknown }).code;
    if (err instanceof UsageError || err instanceof ConfigError || (typeof nodeCode === "string" && nodeCode.startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`validation_error: ${(err as Error).message}\n\n${usage}\n`);
      process.exit(2);
    }
    const word = errorWord(err);
    if (word === "validation_error") {
      const fields = Object.entries(errorFields(err)).map(([f, m]) => `  ${f}: ${m}`).join("\n");
      process.stderr.write(`validation_error:\n${fields}\n`);
      process.exit(2);
    }
    process.stderr.write(`${word}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
