// Sessions: a live table (WatchEvents), create, lifecycle actions and settings.
import { useRef, useState } from "preact/hooks";
import type { Session } from "../../../gen/wagateway/v1/session_pb.js";
import { SessionStatus } from "../../../gen/wagateway/v1/session_pb.js";
import { useConsole, useEvents } from "../context.js";
import { sessionWord, when } from "../format.js";
import { ConfirmButton, ErrorBox, Status, useAction, useLoad } from "../ui.js";

const num = (v: string): number | undefined => (v.trim() === "" ? undefined : Number(v));

function SessionForm({ initial, submitLabel, withStart, onSubmit, onCancel }: {
  initial?: Session;
  submitLabel: string;
  withStart?: boolean;
  onSubmit: (v: { label?: string; autoRead: boolean; presenceTyping: boolean; ratePerMin?: number; ratePerHour?: number; start: boolean }) => Promise<void>;
  onCancel?: () => void;
}) {
  const [label, setLabel] = useState(initial?.label ?? "");
  const [autoRead, setAutoRead] = useState(initial?.autoRead ?? false);
  const [typing, setTyping] = useState(initial?.presenceTyping ?? false);
  const [perMin, setPerMin] = useState(initial ? String(initial.ratePerMin) : "");
  const [perHour, setPerHour] = useState(initial ? String(initial.ratePerHour) : "");
  const [start, setStart] = useState(true);
  const [run, error, busy] = useAction();
  const id = initial?.id ?? "new";
  return (
    <form
      class="grid"
      aria-label={initial ? `Settings of ${initial.label || initial.id}` : "New session"}
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => onSubmit({ label: label.trim() || undefined, autoRead, presenceTyping: typing, ratePerMin: num(perMin), ratePerHour: num(perHour), start }));
      }}
    >
      <label>
        Label
        <input name="label" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
      </label>
      <label>
        Messages per minute
        <input name="ratePerMin" type="number" min="0" inputMode="numeric" value={perMin} placeholder="default" onInput={(e) => setPerMin(e.currentTarget.value)} />
      </label>
      <label>
        Messages per hour
        <input name="ratePerHour" type="number" min="0" inputMode="numeric" value={perHour} placeholder="default" onInput={(e) => setPerHour(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input id={`autoread-${id}`} type="checkbox" checked={autoRead} onChange={(e) => setAutoRead(e.currentTarget.checked)} />
        Mark incoming as read
      </label>
      <label class="check">
        <input type="checkbox" checked={typing} onChange={(e) => setTyping(e.currentTarget.checked)} />
        Show typing before sending
      </label>
      {withStart && (
        <label class="check">
          <input name="start" type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} />
          Start now
        </label>
      )}
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

/** The sessions page. */
export function SessionsPage() {
  const { api, readOnly } = useConsole();
  const list = useLoad(async () => (readOnly ? [] : (await api.sessions.listSessions({})).sessions), [api, readOnly]);
  const [editing, setEditing] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const [run, error] = useAction();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEvents((ev) => {
    if (!/^(session\.|auth\.|connection\.)/.test(ev.type) || readOnly) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(list.reload, 150);
  });
  const act = (fn: () => Promise<unknown>) => run(async () => {
    await fn();
    list.reload();
  });
  const sessions = list.data ?? [];
  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      {readOnly ? (
        <p class="notice">This key can only read: listing and changing sessions needs the manage permission. Live events, chats of a known session and gateways are available.</p>
      ) : creating ? (
        <SessionForm
          withStart
          submitLabel="Create session"
          onCancel={() => setCreating(false)}
          onSubmit={async (v) => {
            const { session } = await api.sessions.createSession(v);
            setCreating(false);
            list.reload();
            if (session && v.start) location.hash = `#/pairing/${session.id}`;
          }}
        />
      ) : (
        <p>
          <button class="primary" type="button" id="new-session" onClick={() => setCreating(true)}>
            New session
          </button>
        </p>
      )}
      <ErrorBox error={error} />
      {!readOnly && (
        <Status loaded={list} empty="No sessions yet: create one to pair a phone." isEmpty={sessions.length === 0}>
          <div class="table-wrap">
            <table class="stack" id="sessions">
              <caption class="visually-hidden">Sessions, updated live</caption>
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Status</th>
                  <th scope="col">Number</th>
                  <th scope="col">Gateway</th>
                  <th scope="col">Last connected</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((s) => {
                  const word = sessionWord(s.status);
                  const running = s.status !== SessionStatus.STOPPED && s.status !== SessionStatus.FAILED;
                  return [
                    <tr key={s.id} data-id={s.id}>
                      <td data-label="Session">
                        <strong>{s.label || "(no label)"}</strong>
                        <br />
                        <code>{s.id}</code>
                      </td>
                      <td data-label="Status">
                        <span class={`badge ${word}`} data-status>{word}</span>
                        {s.statusReason && <div class="muted">{s.statusReason}{s.lastError ? `: ${s.lastError}` : ""}</div>}
                        {s.restriction && (
                          <div class="badge failed" data-restriction>
                            restricted ({s.restriction.reason}) until {when(s.restriction.until)}
                            {s.restriction.untilKnown ? "" : " (estimate)"}
                          </div>
                        )}
                      </td>
                      <td data-label="Number">{s.phoneNumber ? `+${s.phoneNumber}` : "—"}</td>
                      <td data-label="Gateway">{s.gatewayId ?? "—"}</td>
                      <td data-label="Last connected">{when(s.lastConnectedAt)}</td>
                      <td data-label="Actions">
                        <div class="actions">
                          {s.status === SessionStatus.SCAN_QR_CODE && <a href={`#/pairing/${s.id}`}>Pair</a>}
                          <a href={`#/chat/${s.id}`}>Chat</a>
                          {!running && <button type="button" onClick={() => act(() => api.sessions.startSession({ session: s.id }))}>Start</button>}
                          {running && <ConfirmButton label="Stop" question="Stop this session?" onConfirm={() => act(() => api.sessions.stopSession({ session: s.id }))} />}
                          <button type="button" onClick={() => act(() => api.sessions.restartSession({ session: s.id }))}>Restart</button>
                          <ConfirmButton label="Log out" question="Unlink the phone?" onConfirm={() => act(() => api.sessions.logoutSession({ session: s.id }))} />
                          <ConfirmButton label="Delete" question="Delete this session and its data?" onConfirm={() => act(() => api.sessions.deleteSession({ session: s.id }))} />
                          <button type="button" aria-expanded={editing === s.id} onClick={() => setEditing(editing === s.id ? undefined : s.id)}>Settings</button>
                        </div>
                      </td>
                    </tr>,
                    editing === s.id && (
                      <tr key={`${s.id}-edit`}>
                        <td colSpan={6}>
                          <SessionForm
                            initial={s}
                            submitLabel="Save settings"
                            onCancel={() => setEditing(undefined)}
                            onSubmit={async (v) => {
                              await api.sessions.updateSession({ session: s.id, label: v.label ?? "", autoRead: v.autoRead, presenceTyping: v.presenceTyping, ratePerMin: v.ratePerMin, ratePerHour: v.ratePerHour });
                              setEditing(undefined);
                              list.reload();
                            }}
                          />
                        </td>
                      </tr>
                    ),
                  ];
                })}
              </tbody>
            </table>
          </div>
        </Status>
      )}
    </section>
  );
}
