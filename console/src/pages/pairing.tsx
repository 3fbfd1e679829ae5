// Pairing: the QR as it rotates (expiry countdown, attempt), or a phone pairing code; live status.
import QRCode from "qrcode";
import { useEffect, useRef, useState } from "preact/hooks";
import { useConsole, useEvents } from "../context.js";
import { sessionWord } from "../format.js";
import { errorWord } from "../api.js";
import { ErrorBox, useAction, useLoad } from "../ui.js";

interface Qr {
  qr: string;
  expiresAt: number;
  attempt: number;
}

/** The pairing page of one session. */
export function PairingPage({ session }: { session?: string }) {
  const { api, readOnly } = useConsole();
  const info = useLoad(async () => (session ? (await api.sessions.getSession({ session })).session : undefined), [api, session]);
  const [qr, setQr] = useState<Qr | undefined>();
  const [now, setNow] = useState(Date.now());
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState<string | undefined>();
  const [run, error, busy] = useAction();
  const canvas = useRef<HTMLCanvasElement>(null);
  const status = info.data ? sessionWord(info.data.status) : undefined;

  useEffect(() => {
    if (!session || readOnly) return;
    api.sessions.getQrCode({ session }).then(
      (r) => setQr({ qr: r.qr, expiresAt: Number(r.expiresAt), attempt: r.attempt }),
      (err: unknown) => {
        if (errorWord(err) !== "conflict") info.reload();
      },
    );
  }, [api, session, readOnly]);
  useEvents((ev) => {
    if (ev.sessionId !== session) return;
    const d = (ev.data ?? {}) as Record<string, unknown>;
    if (ev.type === "auth.qr" && typeof d.qr === "string") setQr({ qr: d.qr, expiresAt: Number(d.expiresAt ?? 0), attempt: Number(d.attempt ?? 0) });
    if (ev.type === "auth.pairing_code" && typeof d.code === "string") setCode(d.code);
    if (ev.type.startsWith("session.") || ev.type === "auth.paired") info.reload();
  });
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (!canvas.current) return;
    if (qr && status === "scan_qr_code") {
      void QRCode.toCanvas(canvas.current, qr.qr, { width: 264, margin: 2 });
      canvas.current.dataset.qr = qr.qr;
    }
  }, [qr, status]);

  if (!session) return <p class="error">No session chosen: open a session's “Pair” link.</p>;
  // The clock read now, not the last tick's `now` (which re-renders every second): a QR that just arrived shows its full life.
  const left = qr ? Math.max(0, Math.round((qr.expiresAt - Math.max(now, Date.now())) / 1000)) : 0;
  const waiting = status === "scan_qr_code";
  return (
    <section aria-labelledby="pair-h">
      <h2 id="pair-h">Pair {info.data?.label || session}</h2>
      <p>
        Status:{" "}
        <span class={`badge ${status ?? ""}`} id="pair-status" aria-live="polite">
          {status ?? "loading…"}
        </span>
        {info.data?.phoneNumber && <> — +{info.data.phoneNumber}</>}
      </p>
      <ErrorBox error={info.error} />
      {status === "working" && (
        <p class="notice">
          Paired. <a href={`#/chat/${session}`}>Open its chats</a> or go back to <a href="#/sessions">Sessions</a>.
        </p>
      )}
      {status && !waiting && status !== "working" && status !== "starting" && <p class="muted">Not waiting for a scan: start the session from Sessions to get a QR.</p>}
      {(waiting || status === "starting") && (
        <div class="pair">
          <figure>
            <canvas id="qr" ref={canvas} width={264} height={264} role="img" aria-label="QR code to scan with WhatsApp: Linked devices, Link a device" />
            <figcaption aria-live="polite">
              {qr && waiting ? (
                <>
                  Attempt <span id="qr-attempt">{qr.attempt}</span>, expires in <span id="qr-expiry">{left}</span> s
                </>
              ) : (
                "Waiting for a QR…"
              )}
            </figcaption>
          </figure>
          {!readOnly && (
            <form
              class="grid"
              aria-label="Pair with a phone number"
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => setCode((await api.sessions.requestPairingCode({ session, phoneNumber: phone.trim() })).code));
              }}
            >
              <label>
                Or pair with the phone number (digits, country code first)
                <input name="phone" inputMode="tel" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
              </label>
              <button type="submit" disabled={busy}>
                Get a pairing code
              </button>
              {code && (
                <p class="notice">
                  Enter <strong id="pairing-code">{code}</strong> on the phone: Linked devices → Link with phone number.
                </p>
              )}
              <ErrorBox error={error} />
            </form>
          )}
        </div>
      )}
    </section>
  );
}
