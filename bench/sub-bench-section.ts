import { existsSync, readFileSync, writeFileSync } from "node:fs";

const docs = new URL("../docs/", import.meta.url);
const start = "<!-- sub-benchmarks:start -->";
const end = "<!-- sub-benchmarks:end -->";

/** The engine, event-stream, scale-out and webhook benches, each with the command that rewrites it. */
const benches = [
  { file: "benchmarks/engine.md", title: "WhatsApp engine: idle sessions and restart", command: "npm run bench:engine" },
  { file: "benchmarks/events.md", title: "Event stream: fan-out against a bare-server floor", command: "npm run bench:events" },
  { file: "benchmarks/failover.md", title: "Scale-out: failover and lease traffic", command: "npm run bench:failover" },
  { file: "benchmarks/webhooks.md", title: "Webhooks: deliveries per second and event-to-2xx latency", command: "npm run bench:webhooks" },
  { file: "benchmarks/messages.md", title: "Messages: outbound rate and inbound latency", command: "npm run bench:messages" },
];

/**
 * The section of docs/BENCHMARKS.md that carries the other benches' figures:
 * each one's first table, measurement line and aims (if any), copied from
 * its own file.
 */
export function subBenchSection(): string[] {
  const lines = [start, "## Engine, event stream, scale-out, webhooks and messages", ""];
  for (const b of benches) {
    const path = new URL(b.file, docs);
    lines.push(`### ${b.title}`, "");
    if (!existsSync(path)) {
      lines.push(`Not measured yet: \`${b.command}\`.`, "");
      continue;
    }
    const text = readFileSync(path, "utf8").split("\n");
    const measured = text.find((l) => l.startsWith("Measured "));
    const first = text.findIndex((l) => l.startsWith("|"));
    const table = [];
    for (let i = first; i >= 0 && i < text.length && text[i]!.startsWith("|"); i++) table.push(text[i]!);
    lines.push(`From [${b.file}](${b.file}) (\`${b.command}\`, which rewrites it and this section). ${measured ?? ""}`, "", ...table, "");
    // The aims, when the file states them (met or missed, with the reason).
    const aims = text.findIndex((l) => l.startsWith("## Aims"));
    if (aims >= 0) {
      const next = text.findIndex((l, i) => i > aims && l.startsWith("## "));
      lines.push(`**${text[aims]!.slice(3)}**`, ...text.slice(aims + 1, next < 0 ? undefined : next), "");
    }
  }
  lines.push(end, "");
  return lines;
}

/** Rewrites the section in docs/BENCHMARKS.md in place (after a sub-bench ran). */
export function refreshSubBenchSection(): void {
  const path = new URL("BENCHMARKS.md", docs);
  if (!existsSync(path)) return;
  const text = readFileSync(path, "utf8");
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  const section = subBenchSection().join("\n");
  const next = a >= 0 && b > a ? text.slice(0, a) + section.trimEnd() + text.slice(b + end.length) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(path, next);
}
