import { sleep } from "../process-stats.js";
import { spawnTimed, type TimedChild } from "./timed-spawn.js";

/** A gateway started as `npm start` does, timed from spawn to its "ready" log line. */
export interface StartedGateway extends TimedChild {
  url: string;
  /** The gateway's own `startupMs` from the ready line (database open, migrations, listen, first-run key). */
  selfMs: number | undefined;
  /** The first-run admin key from the banner on stdout (first start on an empty database only). */
  key: string | undefined;
}

/**
 * `node dist/src/main.js` with `env` on a free port; resolves at the stderr line whose `msg` is "ready" (parsed as
 * JSON, whatever the order of its fields). When `expectKey`, also waits for the first-run banner on stdout.
 */
export async function startGateway(env: Record<string, string>, expectKey = false): Promise<StartedGateway> {
  const gw = await spawnTimed(["dist/src/main.js"], { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env }, "stderr", (l) => l.msg === "ready");
  const url = gw.line.url;
  if (typeof url !== "string") throw new Error(`ready line without a url: ${JSON.stringify(gw.line)}`);
  let key: string | undefined;
  // stdout and stderr are separate pipes: the banner may arrive just after the ready line.
  for (let i = 0; expectKey && i < 100 && !key; i++) {
    key = /API key:\s+(wag_\S+)/.exec(gw.stdout())?.[1];
    if (!key) await sleep(50);
  }
  if (expectKey && !key) throw new Error(`no first-run key on stdout:\n${gw.stdout()}`);
  return { ...gw, url, selfMs: typeof gw.line.startupMs === "number" ? gw.line.startupMs : undefined, key };
}
