/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time by
 * category and the top functions.
 * Usage: `npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [lastSeconds]`
 * (`lastSeconds`: only the profile's last seconds, e.g. the load phase).
 */
import { categoryShares, readProfile, topFunctions } from "./profile-categories.js";

const [file, topArg, lastArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [lastSeconds]\n");
  process.exit(2);
}
const prof = readProfile(file);
const last = lastArg === undefined ? undefined : Number(lastArg);
const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}%`;
console.log("self time by category");
for (const [k, v] of categoryShares(prof, last)) console.log(`${pct(v)}  ${k}`);
console.log("\nself time by function");
for (const [k, v] of topFunctions(prof, last, Number(topArg ?? 30))) console.log(`${pct(v)}  ${k}`);
