import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const run = promisify(execFile);

/** The README's code block marked `<!-- readme-test: name -->`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README has no block "${name}"`);
  return m[1]!;
}

describe("README client examples run as written", { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!);
    env = { ...process.env, WA_GATEWAY_URL: gw.url, WA_GATEWAY_TOKEN: await gw.createKey(gw.newOrgId(), ["manage", "read"]) };
  });
  afterAll(() => gw?.close());

  const sh = (script: string) => run("bash", ["-euo", "pipefail", "-c", script], { cwd: repoRoot, env, timeout: 120_000 });

  it("Node: wa-gateway/client", async () => {
    // Inside the package, so "wa-gateway/client" resolves by self-reference as it does for users.
    const file = join(repoRoot, `.readme-node-client-${process.pid}.ts`);
    writeFileSync(file, readmeBlock("node-client"));
    try {
      const { stdout } = await run(process.execPath, ["--import", "tsx", file], { cwd: repoRoot, env, timeout: 60_000 });
      expect(stdout).toMatch(/^created [0-9A-Z]{26}; 1 session\(s\)\nGetQrCode: conflict\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("command line", async () => {
    const { stdout } = await sh(readmeBlock("cli"));
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ label: "Support line", status: "stopped" });
    expect(lines.at(-1)).toMatchObject({ type: "session.created" });
  });

  it("buf curl by reflection", async () => {
    const { stdout } = await sh(readmeBlock("buf-curl"));
    expect(stdout).toContain("wagateway.v1.SessionService/ListSessions");
    expect(stdout).toContain('"sessions"');
  });

  it("health, readiness, metrics", async () => {
    const { stdout } = await sh(readmeBlock("probes"));
    expect(stdout).toContain('"status": "SERVING"');
    expect(stdout).toContain('{"status":"ok"}\n');
    expect(stdout).toContain('"status":"ready"');
    expect(stdout).toMatch(/^wagateway_sessions\{status="stopped"\} \d+$/m);
  });

  it("browser: the bundle builds", async () => {
    rmSync(join(repoRoot, "examples/browser/dist"), { recursive: true, force: true });
    await sh(readmeBlock("browser"));
    expect(existsSync(join(repoRoot, "examples/browser/dist/app.js"))).toBe(true);
    expect(existsSync(join(repoRoot, "examples/browser/dist/index.html"))).toBe(true);
  });
});
