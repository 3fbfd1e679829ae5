import { execFileSync } from "node:child_process";
import { repoRoot } from "./gateway-process.js";

/** Vitest global setup: compiles src/ to dist/ (`npm run build`) so tests of the bin and of `npm start` run current code. */
export default function buildDist(): void {
  execFileSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
}
