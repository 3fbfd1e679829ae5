/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the
 * most self time, and the files (packages) with the most self time.
 * Usage: `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n");
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
const top = Number(topArg ?? 30);
const counts = new Map<number, number>();
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const total = prof.samples.length;
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const n of prof.nodes) {
  const c = counts.get(n.id) ?? 0;
  if (c === 0) continue;
  const url = n.callFrame.url.replace(/^file:\/\/\/work\/main\//, "").replace(/^.*node_modules\//, "nm:");
  const fn = `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + c);
  const pkg = url.startsWith("nm:") ? url.split("/").slice(0, url.startsWith("nm:@") ? 2 : 1).join("/") : url === "" ? "(native/vm)" : url.startsWith("node:") ? url : url.split("/").slice(0, 2).join("/");
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + c);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show("self time by function", byFn);
show("self time by package / file", byFile);
