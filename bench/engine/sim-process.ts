import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startWaSimulator } from "../../test/wa-sim/index.js";

/**
 * The WhatsApp simulator in its own process, for the engine bench: prints
 * `{url, rootPublicKey, control}` as one JSON line on stdout, plays the
 * phone on `POST /scan {qr, phoneNumber}`, and answers `GET /max-concurrent`
 * with the highest number of simultaneous connections any device had.
 */
const sim = await startWaSimulator({ initialPreKeyCount: Number(process.env.SIM_PREKEYS ?? 0) });
const control = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/max-concurrent") {
    res.end(JSON.stringify({ max: sim.devices().reduce((m, d) => Math.max(m, d.maxConcurrent), 0) }));
    return;
  }
  let body = "";
  req.on("data", (d: Buffer) => (body += d.toString()));
  req.on("end", () => {
    const { qr, phoneNumber } = JSON.parse(body) as { qr: string; phoneNumber: string };
    sim.scanQr(qr, { phoneNumber }).then(
      () => res.end("{}"),
      (err: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: String(err) }));
      },
    );
  });
});
await new Promise<void>((r) => control.listen(0, "127.0.0.1", r));
process.stdout.write(
  JSON.stringify({
    url: sim.url,
    rootPublicKey: Buffer.from(sim.rootPublicKey).toString("base64"),
    control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
  }) + "\n",
);
process.on("SIGTERM", () => void sim.close().then(() => process.exit(0)));
