import { createHmac } from "node:crypto";

/**
 * The floor: a bare loop of `fetch` POSTs to the same receiver, in its own
 * process, with the same concurrency and a body and headers of the same
 * size as a delivery (signed the same way). Env: URL, TOTAL, CONCURRENCY,
 * ENDPOINTS (requests spread over that many paths). Prints one JSON line:
 * requests, seconds.
 */
const url = process.env.URL!;
const total = Number(process.env.TOTAL);
const concurrency = Number(process.env.CONCURRENCY);
const endpoints = Number(process.env.ENDPOINTS ?? 1);
const key = Buffer.alloc(32, 7);
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < total; i = next++) {
      const now = Date.now();
      const body = JSON.stringify({
        type: "connection.connecting",
        timestamp: new Date(now).toISOString(),
        data: { id: String(i), type: "connection.connecting", sessionId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", organizationId: "org_bench", occurredAt: now, data: { n: i } },
      });
      const ts = Math.floor(now / 1000);
      const sig = createHmac("sha256", key).update(`${i}.${ts}.${body}`).digest("base64");
      const res = await fetch(`${url}/e/${i % endpoints}`, {
        method: "POST",
        headers: { "content-type": "application/json", "webhook-id": String(i), "webhook-timestamp": String(ts), "webhook-signature": `v1,${sig}`, "x-sent-at": String(now) },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 204) throw new Error(`status ${res.status}`);
    }
  }),
);
process.stdout.write(`${JSON.stringify({ requests: total, seconds: (performance.now() - t0) / 1000 })}\n`);
