import type { WaSimulator } from "../../test/wa-sim/index.js";
import { connectClient, makeMemoryAuthState } from "../../test/wa-sim/index.js";

/**
 * The floor of the messages bench: bare Baileys in its own process against
 * the same simulator. Pairs one socket per `BARE_PHONES` number (the
 * simulator plays the phone through `CONTROL`), waits for `go` on stdin,
 * then each socket sends its share of `BARE_MESSAGES` texts to its contact
 * (`BARE_CONTACTS`, same order) with `sendMessage` in a loop. Prints
 * `ready`, then `{"sent": n, "seconds": s}` when every sendMessage resolved.
 * It runs through tsx (this file is TypeScript) with source-mapped stack
 * traces turned off, so it pays what plain `node` would, like the gateway.
 */
process.setSourceMapsEnabled(false);
const simLike = { url: process.env.SIM_URL!, rootPublicKey: Buffer.from(process.env.SIM_KEY!, "base64") } as unknown as WaSimulator;
const control = process.env.CONTROL!;
const phones = process.env.BARE_PHONES!.split(",");
const contacts = process.env.BARE_CONTACTS!.split(",");
const total = Number(process.env.BARE_MESSAGES);

const socks = await Promise.all(
  phones.map(async (phone) => {
    const auth = makeMemoryAuthState();
    const first = connectClient(simLike, auth);
    const qr = await first.firstQr;
    const res = await fetch(`${control}/scan`, { method: "POST", body: JSON.stringify({ qr, phoneNumber: phone }) });
    if (!res.ok) throw new Error(await res.text());
    await first.closed;
    const client = connectClient(simLike, auth);
    await client.opened;
    await client.ready;
    return client.sock;
  }),
);
// Inbound floor: when each message reached Baileys' \`messages.upsert\`.
const arrived: Record<string, number> = {};
for (const s of socks) s.ev.on("messages.upsert", ({ messages }) => {
  for (const m of messages) if (m.key.id && !m.key.fromMe) arrived[m.key.id] = Date.now();
});
// Warm-up: one message each (device list and key fetch happen on the first send).
await Promise.all(socks.map((s, i) => s.sendMessage(`${contacts[i]}@s.whatsapp.net`, { text: "warm-up" })));
process.stdout.write("ready\n");
await new Promise<void>((r) => process.stdin.once("data", () => r()));
const t0 = performance.now();
const per = Math.ceil(total / socks.length);
await Promise.all(
  socks.map(async (s, i) => {
    for (let k = 0; k < per; k++) await s.sendMessage(`${contacts[i]}@s.whatsapp.net`, { text: `bare ${k}` });
  }),
);
process.stdout.write(JSON.stringify({ sent: per * socks.length, seconds: (performance.now() - t0) / 1000 }) + "\n");
// `dump` on stdin: the inbound arrival times, as one JSON line; `exit`: exit (a CPU profile is written).
process.stdin.on("data", (d: Buffer) => {
  if (d.toString().includes("dump")) process.stdout.write(`ARRIVED ${JSON.stringify(arrived)}\n`);
  if (d.toString().includes("exit")) process.exit(0);
});
await new Promise((r) => setTimeout(r, 600_000));
