import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The bench's webhook receiver, in its own process: answers every POST 204
 * and records, per delivery, receipt time − the body's `timestamp` (the
 * event's occurredAt) or − the `x-sent-at` header of the floor loop. `GET
 * /stats` returns the count and sorted latencies; `POST /reset` clears.
 * Prints `listening <port>` when ready.
 */
let latencies: number[] = [];
let count = 0;
let first = 0;
let last = 0;
const ids = new Set<string>();
let duplicates = 0;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    const sorted = [...latencies].sort((a, b) => a - b);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ count, first, last, duplicates, latencies: sorted }));
    return;
  }
  if (req.url === "/reset") {
    latencies = [];
    count = 0;
    first = 0;
    last = 0;
    duplicates = 0;
    ids.clear();
    res.writeHead(204).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const now = Date.now();
    const sentAt = req.headers["x-sent-at"];
    let origin: number;
    if (typeof sentAt === "string") origin = Number(sentAt);
    else origin = Date.parse((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { timestamp: string }).timestamp);
    const id = `${req.url}|${req.headers["webhook-id"] ?? ""}`;
    if (ids.has(id)) duplicates++;
    ids.add(id);
    latencies.push(now - origin);
    count++;
    if (first === 0) first = now;
    last = now;
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
