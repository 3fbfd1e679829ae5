import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** A V8 `.cpuprofile`. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where self time goes, grouped so that one glance says what dominates. */
export const profileCategories: [string, RegExp][] = [
  ["AbortSignal / DOMException / EventTarget (per-request signals)", /abort_controller|domexception|event_target|signals\.js/],
  ["connect-es protocol handling (envelopes, async iterables, headers)", /nm:@connectrpc/],
  ["protobuf encode/decode", /nm:@bufbuild/],
  ["kysely query building", /nm:kysely/],
  ["pg driver", /nm:pg|nm:postgres-/],
  ["REST transcoder (src/rest)", /src\/rest/],
  ["other gateway code (src/)", /src\//],
  ["node HTTP, streams, sockets (writev = loopback send)", /node:_http|node:internal\/streams|node:net|stream_base|node:internal\/http2|writev|writeBuffer|node:internal\/deps\/undici/],
  ["garbage collector", /garbage collector/],
  ["idle (waiting on PostgreSQL or the CPU)", /\(idle\)/],
];

/** Self time per function (`name file:line`) over the profile's last `lastSeconds` (all when undefined). */
export function selfTimeByFunction(prof: CpuProfile, lastSeconds?: number): { byFn: Map<string, number>; total: number } {
  const from = lastSeconds === undefined ? -Infinity : prof.endTime - lastSeconds * 1e6;
  const counts = new Map<number, number>();
  let t = prof.startTime;
  let total = 0;
  prof.samples.forEach((s, i) => {
    t += prof.timeDeltas[i] ?? 0;
    if (t < from) return;
    counts.set(s, (counts.get(s) ?? 0) + 1);
    total++;
  });
  const byFn = new Map<string, number>();
  for (const n of prof.nodes) {
    const c = counts.get(n.id) ?? 0;
    if (c === 0) continue;
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|gen)\//, "$1/").replace(/^.*node_modules\//, "nm:");
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + c);
  }
  return { byFn, total };
}

/** Shares (0..1) of self time per category, largest first. */
export function categoryShares(prof: CpuProfile, lastSeconds?: number): [string, number][] {
  const { byFn, total } = selfTimeByFunction(prof, lastSeconds);
  const byCat = new Map<string, number>();
  for (const [k, v] of byFn) {
    const cat = profileCategories.find(([, re]) => re.test(k))?.[0] ?? "other (native, microtasks, timers)";
    byCat.set(cat, (byCat.get(cat) ?? 0) + v);
  }
  return [...byCat].map(([k, v]): [string, number] => [k, v / total]).sort((a, b) => b[1] - a[1]);
}

/** The top functions by self time, as shares. */
export function topFunctions(prof: CpuProfile, lastSeconds: number | undefined, top: number): [string, number][] {
  const { byFn, total } = selfTimeByFunction(prof, lastSeconds);
  return [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, v / total]);
}

/** Reads a `.cpuprofile` file. */
export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
}
