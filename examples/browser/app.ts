// The browser example: connect-web against wa-gateway (another origin, so
// the gateway needs CORS_ORIGINS). Open index.html?gateway=<url>&token=<key>.
import { createClient, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import QRCode from "qrcode";
import { type Session, SessionStatus } from "../../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";

const params = new URLSearchParams(location.search);
const baseUrl = params.get("gateway") ?? "http://127.0.0.1:8080";
const token = params.get("token") ?? "";
const bearer: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};
const client = createClient(SessionService, createConnectTransport({ baseUrl, interceptors: [bearer] }));

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const word = (s: SessionStatus) => (SessionStatus[s] ?? "unspecified").toLowerCase();
let current: string | undefined;

function showError(err: unknown) {
  $("error").textContent = err instanceof ConnectError ? `${err.code}: ${err.rawMessage}` : String(err);
}

async function showQr(qr: string) {
  const canvas = $<HTMLCanvasElement>("qr");
  await QRCode.toCanvas(canvas, qr, { width: 264, margin: 2 });
  canvas.dataset.qr = qr;
}

function showStatus(status: string) {
  $("status").textContent = status;
  if (status !== "scan_qr_code") {
    const canvas = $<HTMLCanvasElement>("qr");
    canvas.getContext("2d")?.clearRect(0, 0, canvas.width, canvas.height);
    delete canvas.dataset.qr;
  }
}

async function refresh() {
  const { sessions } = await client.listSessions({});
  $("sessions").replaceChildren(...sessions.map((s: Session) => {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    li.textContent = `${s.label || "(no label)"} — ${word(s.status)}${s.phoneNumber ? ` — +${s.phoneNumber}` : ""}`;
    return li;
  }));
}

async function create() {
  const { session } = await client.createSession({ label: "from the browser", start: true });
  if (!session) return;
  current = session.id;
  $("current").textContent = session.id;
  showStatus(word(session.status));
  await refresh();
  // The QR may have been issued before we looked: ask for it once; events bring the next ones.
  try {
    const { qr } = await client.getQrCode({ session: session.id });
    await showQr(qr);
  } catch {
    /* not waiting for a scan yet: an auth.qr event follows */
  }
}

async function watch() {
  for (let after: string | undefined; ; ) {
    try {
      for await (const res of client.watchEvents(after ? { after } : {})) {
        if (res.payload.case !== "event") continue;
        const ev = res.payload.value;
        after = ev.id;
        const line = document.createElement("div");
        line.textContent = `${ev.id} ${ev.type} ${ev.sessionId} ${JSON.stringify(ev.data ?? {})}`;
        $("events").prepend(line);
        const data = (ev.data ?? {}) as Record<string, unknown>;
        if (ev.sessionId === current && ev.type === "auth.qr" && typeof data.qr === "string") await showQr(data.qr);
        if (ev.sessionId === current && ev.type === "session.status" && typeof data.status === "string") showStatus(data.status);
        if (ev.type.startsWith("session.")) void refresh().catch(showError);
      }
    } catch (err) {
      showError(err);
    }
    await new Promise((r) => setTimeout(r, 1000)); // resume after the last event seen
  }
}

$("gateway").textContent = baseUrl;
$("create").addEventListener("click", () => void create().catch(showError));
$("refresh").addEventListener("click", () => void refresh().catch(showError));
void refresh().catch(showError);
void watch();
