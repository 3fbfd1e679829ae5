import type { CpuProfile } from "../profile-categories.js";

/**
 * Where the sender's CPU went during one phase of the messages bench: self
 * time by category, and the functions with the most self and inclusive
 * (synchronous stack) time, from a V8 `.cpuprofile` of the gateway between
 * `fromUs` and `toUs` (the monotonic clock in µs, `process.hrtime` ÷ 1000,
 * which V8's profile timestamps share on Linux).
 */
export interface WindowSummary {
  /** CPU-busy milliseconds sampled in the window (idle excluded). */
  busyMs: number;
  categories: [string, number][];
  self: [string, number][];
  inclusive: [string, number][];
}

/** The send path's categories, first match wins (on `function nm:package/file` keys). */
const categories: [string, RegExp][] = [
  ["key store (src/whatsapp/auth-state-store)", /src\/whatsapp\/auth-state-store/],
  ["Baileys BufferJSON (key (de)serialization)", /nm:@whiskeysockets\/baileys\/lib\/Utils\/generics\.js/],
  ["libsignal (encrypt, sessions)", /nm:libsignal|nm:@whiskeysockets\/libsignal/],
  ["Baileys other", /nm:@whiskeysockets\/baileys/],
  ["protobuf (WAProto)", /nm:protobufjs|WAProto/],
  ["kysely query building", /nm:kysely/],
  ["pg driver", /nm:pg|nm:postgres-/],
  ["connect-es / protobuf-es (gRPC)", /nm:@connectrpc|nm:@bufbuild/],
  ["gateway messages (src/messages)", /src\/messages/],
  ["gateway events (src/events)", /src\/events/],
  ["REST transcoder (src/rest)", /src\/rest/],
  ["other gateway code (src/)", /src\//],
  ["logging (pino)", /nm:pino|nm:sonic-boom/],
  ["crypto / zlib natives", /node:internal\/crypto|node:zlib/],
  ["node HTTP, streams, sockets", /node:_http|node:internal\/streams|node:net|stream_base|node:internal\/http2|writev|writeBuffer|node:internal\/deps\/undici|nm:ws\//],
  ["JSON (stringify/parse)", /^(stringify|parse) /],
  ["garbage collector", /garbage collector/],
];

const keyOf = (n: CpuProfile["nodes"][number]) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|gen)\//, "$1/").replace(/^.*node_modules\//, "nm:");
  return `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
};

/** Summarizes `prof` between `fromUs` and `toUs`. */
export function summarizeWindow(prof: CpuProfile & { nodes: (CpuProfile["nodes"][number] & { children?: number[] })[] }, fromUs: number, toUs: number, top = 25): WindowSummary {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map<number, number>();
  let t = prof.startTime;
  prof.samples.forEach((s, i) => {
    t += prof.timeDeltas[i] ?? 0;
    if (t >= fromUs && t <= toUs) counts.set(s, (counts.get(s) ?? 0) + 1);
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let all = 0;
  for (const [id, c] of counts) {
    const node = byId.get(id)!;
    all += c;
    const k = keyOf(node);
    if (k.startsWith("(idle)") || k.startsWith("(program)")) continue;
    busy += c;
    self.set(k, (self.get(k) ?? 0) + c);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = keyOf(byId.get(cur)!);
      if (seen.has(ck)) continue;
      seen.add(ck);
      inclusive.set(ck, (inclusive.get(ck) ?? 0) + c);
    }
  }
  const byCat = new Map<string, number>();
  for (const [k, v] of self) {
    const cat = categories.find(([, re]) => re.test(k))?.[0] ?? "other (native, microtasks, timers)";
    byCat.set(cat, (byCat.get(cat) ?? 0) + v);
  }
  const share = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]): [string, number] => [k, v / busy]);
  const msPerSample = all === 0 ? 0 : (toUs - fromUs) / 1000 / all;
  return { busyMs: busy * msPerSample, categories: share(byCat, 100), self: share(self, top), inclusive: share(inclusive, top * 2) };
}
