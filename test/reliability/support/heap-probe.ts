import WebSocket from "ws";

/** Reads a child process's V8 heap through its inspector. */
export interface HeapProbe {
  /** Live heap in MiB right after a full garbage collection in the child. */
  usedAfterGcMiB(): Promise<number>;
  close(): void;
}

/** Options for a child whose heap a {@link HeapProbe} reads: an inspector on a free loopback port. */
export const heapProbeEnv = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --inspect=127.0.0.1:0`.trim() };

/**
 * Connects to the inspector of a child started with {@link heapProbeEnv},
 * found by the "Debugger listening on ws://…" line of its stderr. RSS rarely
 * shrinks once a process has grown; the heap after a full collection shows
 * what the process really keeps.
 */
export async function openHeapProbe(stderr: () => string): Promise<HeapProbe> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr())?.[1];
  if (!url) throw new Error("the child has no inspector (start it with heapProbeEnv)");
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    if (msg.id !== undefined) pending.delete(msg.id);
  });
  const send = <T>(method: string): Promise<T> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (r) => resolve(r as T));
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    async usedAfterGcMiB() {
      await send("HeapProfiler.collectGarbage");
      await send("HeapProfiler.collectGarbage");
      const { usedSize } = await send<{ usedSize: number }>("Runtime.getHeapUsage");
      return usedSize / 2 ** 20;
    },
    close: () => ws.close(),
  };
}
