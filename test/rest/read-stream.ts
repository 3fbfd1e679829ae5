import http from "node:http";

/** What a streaming response delivered before it was cut. */
export interface StreamRead {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Everything received, cut back to the last complete SSE block or NDJSON line. */
  text: string;
}

/**
 * Opens a streaming GET and reads until `done(text)` holds or `timeoutMs`
 * passes, then closes the connection (the client leaving).
 */
export function readStream(baseUrl: string, path: string, headers: Record<string, string>, done: (text: string) => boolean, timeoutMs = 10_000): Promise<StreamRead> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { headers, agent: false }, (res) => {
      let text = "";
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        req.destroy();
        const sse = (res.headers["content-type"] ?? "").startsWith("text/event-stream");
        const cut = sse ? text.lastIndexOf("\n\n") + 2 : text.lastIndexOf("\n") + 1;
        resolve({ status: res.statusCode!, headers: res.headers, text: text.slice(0, cut) });
      };
      const timer = setTimeout(finish, timeoutMs);
      res.on("data", (d: Buffer) => {
        text += d.toString();
        if (done(text)) finish();
      });
      res.on("end", finish);
      res.on("error", finish);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The `data:` payloads (parsed) and `id:` values of complete SSE blocks, comments skipped. */
export function sseEvents(text: string): { id: string | undefined; event: string | undefined; data: any }[] {
  const out: { id: string | undefined; event: string | undefined; data: any }[] = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l !== "" && !l.startsWith(":"));
    if (lines.length === 0) continue;
    const field = (name: string) => lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
    out.push({ id: field("id")[0], event: field("event")[0], data: JSON.parse(field("data").join("\n")) });
  }
  return out;
}
