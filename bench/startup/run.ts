import { runStartupBench } from "./startup-bench.js";
import { refreshStartupSection } from "./startup-section.js";
import { liveChildren } from "./timed-spawn.js";

/**
 * `npm run bench:startup`: start-up, CLI and idle-memory figures beside their floors (bench/startup/startup-bench.ts),
 * written to their section of docs/BENCHMARKS.md (the rest of the file is left as it is).
 */
const say = (s: string) => process.stderr.write(`startup bench: ${s}\n`);
try {
  const report = await runStartupBench(say);
  refreshStartupSection(new URL("../../docs/BENCHMARKS.md", import.meta.url), report);
  say("wrote its section of docs/BENCHMARKS.md");
} catch (err) {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  for (const c of liveChildren) c.kill("SIGKILL");
  process.exit(1);
}
