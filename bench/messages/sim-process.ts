import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { quietLibsignal, type SimContact, startWaSimulator } from "../../test/wa-sim/index.js";

/**
 * The WhatsApp simulator in its own process, for the messages bench. Prints
 * `{url, rootPublicKey, control}` on stdout. Control (JSON over HTTP):
 * `POST /scan {qr, phoneNumber}` plays the phone; `POST /contacts {phones}`
 * creates simulated contacts; `GET /received` → messages each contact
 * decrypted (and duplicates); `POST /inbound {from, to, count, perSecond}`
 * makes contacts send texts to accounts at a steady rate and answers with
 * each message id and its send time (epoch ms, this machine's clock).
 */
quietLibsignal();
const sim = await startWaSimulator({ initialPreKeyCount: 0 });
const contacts = new Map<string, SimContact>();
const body = (req: IncomingMessage) =>
  new Promise<Record<string, unknown>>((resolve) => {
    let s = "";
    req.on("data", (d: Buffer) => (s += d.toString()));
    req.on("end", () => resolve(s ? (JSON.parse(s) as Record<string, unknown>) : {}));
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const control = createServer((req, res) => {
  const reply = (v: unknown) => res.end(JSON.stringify(v));
  const fail = (err: unknown) => {
    res.statusCode = 500;
    reply({ error: String(err) });
  };
  void body(req).then(async (b) => {
    try {
      if (req.url === "/scan") {
        await sim.scanQr(b.qr as string, { phoneNumber: b.phoneNumber as string });
        return reply({});
      }
      if (req.url === "/contacts") {
        for (const p of b.phones as string[]) contacts.set(p, sim.contact(p));
        return reply({});
      }
      if (req.url === "/received") {
        const out: Record<string, { received: number; duplicates: number }> = {};
        for (const [p, c] of contacts) out[p] = { received: c.received().length, duplicates: c.duplicates().length };
        return reply({ contacts: out, duplicateFrames: sim.duplicateFrames().length, errors: sim.messagingErrors().length });
      }
      if (req.url === "/inbound") {
        const pairs = b.pairs as { from: string; to: string }[];
        const count = b.count as number;
        const gap = 1000 / (b.perSecond as number);
        const sent: { id: string; at: number }[] = [];
        const t0 = Date.now();
        for (let i = 0; i < count; i++) {
          const due = t0 + i * gap;
          if (due > Date.now()) await sleep(due - Date.now());
          const { from, to } = pairs[i % pairs.length]!;
          const at = Date.now();
          const s = await contacts.get(from)!.sendText(to, `inbound ${i}`);
          sent.push({ id: s.id, at });
        }
        return reply({ sent, seconds: (Date.now() - t0) / 1000 });
      }
      res.statusCode = 404;
      reply({});
    } catch (err) {
      fail(err);
    }
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
