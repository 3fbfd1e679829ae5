#!/usr/bin/env node
// `npm run build` (also run by `npm install`/`npm ci` through `prepare`): transpiles src/ and gen/ to
// dist/ with esbuild, one file per module (no bundling), so `node dist/src/main.js` runs the gateway
// without a TypeScript loader. Type checking stays with `tsc --noEmit`.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // An installed tarball carries dist/ already and has no development dependencies.
  process.stderr.write("build: esbuild is not installed; keeping dist/ as it is\n");
  process.exit(0);
}

/** Every file under `dir`, relative to the repository root. */
function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else out.push(relative(root, path));
  }
  return out;
}

const all = ["src", "gen"].flatMap((d) => files(join(root, d)));
const stamp = join(root, "dist", ".build-stamp");
// `--if-stale` (the test suites' setup): nothing to do when dist/ is newer than every source, so suites
// running at once (CI runs one per Node line) never rebuild under each other's feet.
if (process.argv.includes("--if-stale") && existsSync(stamp)) {
  const built = statSync(stamp).mtimeMs;
  const sources = [...all, ...files(join(root, "console")), "scripts/build.mjs", "scripts/build-console.mjs"];
  if (sources.every((p) => statSync(join(root, p)).mtimeMs <= built)) process.exit(0);
}
const entryPoints = all.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"));
// Plain JavaScript modules (.mjs/.js/.cjs) are copied as they are, under their own names.
const copies = all.filter((p) => /\.(mjs|cjs|js)$/.test(p));
const started = Date.now();
rmSync(join(root, "dist"), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints,
  outdir: "dist",
  outbase: ".",
  bundle: false,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
for (const p of copies) {
  mkdirSync(dirname(join(root, "dist", p)), { recursive: true });
  copyFileSync(join(root, p), join(root, "dist", p));
}
// The web console served at /console/: one bundle under dist/console.
const size = await buildConsole(esbuild, root, join(root, "dist", "console"));
writeFileSync(stamp, new Date().toISOString() + "\n");
process.stderr.write(
  `build: ${entryPoints.length} modules → dist/, console ${(size.gzipped / 1024).toFixed(1)} KB gzipped → dist/console/ in ${Date.now() - started} ms\n`,
);
