import type { Client } from "@connectrpc/connect";
import QRCode from "qrcode";
import type { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { errorWord } from "../errors/api-error.js";
import { note, out } from "./output.js";

/** Renders a QR payload as terminal text (half-height blocks). */
export function renderQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: "terminal", small: true, errorCorrectionLevel: "L" });
}

/**
 * `sessions qr <id>`: shows the current QR, then every new one from the
 * event stream, until the session is `working` (exit 0) or stops waiting
 * for pairing (exit with `conflict`). A TTY is cleared before each redraw.
 */
export async function qrCommand(client: Client<typeof SessionService>, session: string): Promise<number> {
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const show = async (qr: string, attempt: number, expiresAt: number) => {
    if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
    out(await renderQr(qr));
    out(`attempt ${attempt}, expires ${new Date(expiresAt).toISOString()}: scan with WhatsApp → Linked devices`);
    out(`ref: ${qr}`);
  };
  const stream = client.watchEvents({ sessions: [session], types: ["auth.qr", "session.status", "connection.close"] }, { signal: ac.signal });
  const events = stream[Symbol.asyncIterator]();
  await events.next(); // the first message (a heartbeat) says the stream is live: no QR can slip by
  try {
    const current = await client.getQrCode({ session });
    await show(current.qr, current.attempt, Number(current.expiresAt));
  } catch (err) {
    if (errorWord(err) !== "conflict") throw err;
    const { session: s } = await client.getSession({ session });
    if (s?.status === 4 /* WORKING */) {
      note("the session is already paired (working)");
      ac.abort();
      return 0;
    }
    const why = `${s?.statusReason ? ` (${s.statusReason}${s.lastError ? `: ${s.lastError}` : ""})` : ""}`;
    if (s?.status === 5 /* FAILED */ || s?.status === 1 /* STOPPED */) {
      note(`conflict: the session is ${s.status === 5 ? "failed" : "stopped"}${why}, not waiting for a QR scan; start it first`);
      ac.abort();
      return 6;
    }
    note(`waiting for the session to offer a QR code… (status starting${why})`);
  }
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) return 1;
      const { payload } = next.value;
      if (payload.case !== "event") continue;
      const data = (payload.value.data ?? {}) as Record<string, unknown>;
      if (payload.value.type === "auth.qr" && typeof data.qr === "string") {
        await show(data.qr, Number(data.attempt ?? 0), Number(data.expiresAt ?? 0));
      } else if (payload.value.type === "connection.close") {
        if (data.willReconnect && data.reason !== "handover") note(`connection failed: ${String(data.reason)}; retrying in ${String(data.retryInMs ?? "?")} ms`);
      } else if (payload.value.type === "session.status") {
        if (data.status === "working") {
          note("paired: the session is working");
          return 0;
        }
        if (data.status === "failed" || data.status === "stopped") {
          note(`conflict: the session is ${String(data.status)}${data.reason ? ` (${String(data.reason)})` : ""}, not waiting for a QR scan`);
          return 6;
        }
      }
    }
  } finally {
    ac.abort();
  }
}
