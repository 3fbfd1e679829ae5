import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const run = promisify(execFile);
const npm = (args: string[], cwd: string) => run("npm", args, { cwd, env: { ...process.env, npm_config_update_notifier: "false" }, maxBuffer: 16 << 20 });

/** Bytes of the files under `dir`, recursively. */
function sizeOf(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

describe("the client package (packages/client): packed, installed offline, used from plain node and tsc", { timeout: 300_000 }, () => {
  let gw: TestGateway;
  let token: string;
  const scratch = mkdtempSync(join(tmpdir(), "wagw-client-pkg-"));
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!);
    token = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("npm pack → npm install --offline → ESM import and a typed .ts consumer against a running gateway", async () => {
    // `npm run build:client`, staged in a directory of this run's own (suites on several Node lines run at once).
    const stage = join(scratch, "stage");
    await run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "packages/client/tsconfig.json", "--outDir", join(stage, "dist")], { cwd: repoRoot });
    for (const f of ["package.json", "README.md"]) cpSync(join(repoRoot, "packages/client", f), join(stage, f));
    cpSync(join(repoRoot, "proto"), join(stage, "proto"), { recursive: true });
    const packed = JSON.parse((await npm(["pack", "--json", "--pack-destination", scratch], stage)).stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]!.files.map((f) => f.path);
    // Only the compiled client, its declarations and the descriptors' sources: no server, no tests.
    expect(files.filter((f) => !/^(dist\/.*\.(js|d\.ts)|proto\/.*\.proto|package\.json|README\.md)$/.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith("dist/src/whatsapp") || f.startsWith("dist/src/db"))).toBe(false);
    expect(files).toContain("dist/src/client/index.d.ts");

    writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
    // No network: the client's three dependencies are packed from this repository's node_modules and installed beside it.
    const deps = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node"];
    const depTarballs = await Promise.all(
      deps.map(async (d) => {
        const out = JSON.parse((await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], join(repoRoot, "node_modules", d))).stdout) as { filename: string }[];
        return join(scratch, out[0]!.filename);
      }),
    );
    await npm(["install", "--offline", "--no-audit", "--no-fund", join(scratch, packed[0]!.filename), ...depTarballs], scratch);
    const installed = readdirSync(join(scratch, "node_modules"), { recursive: true }).length;
    const bytes = sizeOf(join(scratch, "node_modules"));
    console.log(`wa-gateway-client installed: ${(bytes / 1024 / 1024).toFixed(1)} MiB in node_modules (${installed} entries; tarball ${files.length} files)`);
    // Nothing of the server comes along.
    for (const heavy of ["@whiskeysockets", "@electric-sql", "pg", "kysely", "pino"]) expect(readdirSync(join(scratch, "node_modules"))).not.toContain(heavy);

    const consumer = `import { createGatewayClient, errorReason, SessionStatus } from "wa-gateway-client";
const client = createGatewayClient({ baseUrl: ${JSON.stringify(gw.url)}, token: ${JSON.stringify(token)}, protocol: "connect" });
const { session } = await client.sessions.createSession({ label: "from the package" });
const { sessions } = await client.sessions.listSessions({});
let reason = "";
try {
  await client.sessions.getSession({ session: "01ARZ3NDEKTSV4RRFFQ69G5FAV" });
} catch (err) {
  reason = errorReason(err);
}
const stopped = session?.status === SessionStatus.STOPPED;
console.log(JSON.stringify({ label: session?.label, listed: sessions.length, reason, stopped }));
`;
    writeFileSync(join(scratch, "consumer.mjs"), consumer);
    const { stdout } = await run(process.execPath, ["consumer.mjs"], { cwd: scratch });
    expect(JSON.parse(stdout)).toEqual({ label: "from the package", listed: 1, reason: "not_found", stopped: true });

    // The same program, with types the declarations must carry.
    writeFileSync(
      join(scratch, "consumer.ts"),
      `${consumer}const label: string | undefined = session?.label;\nconst count: number = sessions.length;\nconst word: "not_found" | string = reason;\nvoid [label, count, word];\n`,
    );
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: [], skipLibCheck: false, lib: ["ES2023", "DOM"] }, files: ["consumer.ts"] }),
    );
    await run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: scratch }).catch((err: { stdout?: string }) => {
      throw new Error(`the .ts consumer does not type-check against the installed package:\n${err.stdout}`);
    });
  });

  it("the server's tarball holds only what runs it", async () => {
    const packed = JSON.parse((await npm(["pack", "--dry-run", "--json", "--ignore-scripts"], repoRoot)).stdout) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files.filter((f) => !/^(bin\/|dist\/|proto\/|package\.json$|README\.md$)/.test(f))).toEqual([]);
    expect(files).toContain("dist/src/main.js");
    expect(files).toContain("bin/wa-gateway.mjs");
  });
});
