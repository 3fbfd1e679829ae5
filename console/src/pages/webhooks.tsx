// Webhooks: endpoints (create with the secret shown once, edit, disable, delete, rotate), deliveries, replay, test.
import { useState } from "preact/hooks";
import type { Webhook } from "../../../gen/wagateway/v1/webhook_pb.js";
import { useConsole } from "../context.js";
import { when } from "../format.js";
import { ConfirmButton, ErrorBox, SecretOnce, Status, useAction, useLoad } from "../ui.js";

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

function WebhookForm({ initial, onSubmit, onCancel, submitLabel }: {
  initial?: Webhook;
  submitLabel: string;
  onSubmit: (v: { url: string; eventTypes: string[]; sessions: string[]; description: string }) => Promise<void>;
  onCancel?: () => void;
}) {
  const [url, setUrl] = useState(initial?.url ?? "");
  const [types, setTypes] = useState(initial?.eventTypes.join(", ") ?? "");
  const [sessions, setSessions] = useState(initial?.sessions.join(", ") ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [run, error, busy] = useAction();
  return (
    <form
      class="grid"
      aria-label={initial ? "Edit webhook" : "New webhook"}
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => onSubmit({ url: url.trim(), eventTypes: list(types), sessions: list(sessions), description: description.trim() }));
      }}
    >
      <label>
        URL
        <input name="url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
      <label>
        Event types (comma-separated, empty: all)
        <input name="eventTypes" value={types} placeholder="message.received, session.status" onInput={(e) => setTypes(e.currentTarget.value)} />
      </label>
      <label>
        Sessions (comma-separated ids, empty: all)
        <input name="sessions" value={sessions} onInput={(e) => setSessions(e.currentTarget.value)} />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel && <button type="button" onClick={onCancel}>Cancel</button>}
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function Deliveries({ webhook }: { webhook: string }) {
  const { api, readOnly } = useConsole();
  const loaded = useLoad(async () => (await api.webhooks.listDeliveries({ webhook, pageSize: 20 })).deliveries, [api, webhook]);
  const [run, error] = useAction();
  const [note, setNote] = useState<string | undefined>();
  const rows = loaded.data ?? [];
  return (
    <div class="deliveries">
      <div class="actions">
        <button type="button" onClick={loaded.reload}>Refresh deliveries</button>
        {!readOnly && (
          <button
            type="button"
            onClick={() =>
              run(async () => {
                const r = await api.webhooks.replayEvents({ webhook, since: BigInt(Date.now() - 3_600_000) });
                setNote(`Replaying events after ${r.after || "the start"} of the last hour.`);
              })
            }
          >
            Replay the last hour
          </button>
        )}
      </div>
      {note && <p class="notice" role="status">{note}</p>}
      <ErrorBox error={error} />
      <Status loaded={loaded} empty="No deliveries yet." isEmpty={rows.length === 0}>
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Recent deliveries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Attempt</th>
                <th scope="col">Outcome</th>
                <th scope="col">HTTP</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td data-label="When">{when(d.attemptedAt)}</td>
                  <td data-label="Event">{d.eventType} <code>{d.eventId}</code></td>
                  <td data-label="Attempt">{d.attempt}</td>
                  <td data-label="Outcome"><span class={`badge ${d.outcome}`} data-outcome>{d.outcome}</span>{d.error && <div class="muted">{d.error}</div>}</td>
                  <td data-label="HTTP">{d.httpStatus ?? "—"}</td>
                  <td data-label="Time">{d.durationMs} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Status>
    </div>
  );
}

/** The webhooks page. */
export function WebhooksPage() {
  const { api, readOnly } = useConsole();
  const hooks = useLoad(async () => (readOnly ? [] : (await api.webhooks.listWebhooks({})).webhooks), [api, readOnly]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ secret: string; what: string } | undefined>();
  const [editing, setEditing] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const [run, error] = useAction();
  const [note, setNote] = useState<string | undefined>();
  const act = (fn: () => Promise<unknown>) => run(async () => {
    await fn();
    hooks.reload();
  });
  const rows = hooks.data ?? [];
  if (readOnly) {
    return (
      <section aria-labelledby="webhooks-h">
        <h2 id="webhooks-h">Webhooks</h2>
        <p class="notice">This key can only read: webhooks need the manage permission.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="webhooks-h">
      <h2 id="webhooks-h">Webhooks</h2>
      {secret && <SecretOnce secret={secret.secret} what={secret.what} onDone={() => setSecret(undefined)} />}
      {creating ? (
        <WebhookForm
          submitLabel="Create webhook"
          onCancel={() => setCreating(false)}
          onSubmit={async (v) => {
            const r = await api.webhooks.createWebhook({ url: v.url, eventTypes: v.eventTypes, sessions: v.sessions, ...(v.description && { description: v.description }) });
            setSecret({ secret: r.secret, what: "signing secret of the new webhook" });
            setCreating(false);
            hooks.reload();
          }}
        />
      ) : (
        <p>
          <button class="primary" type="button" id="new-webhook" onClick={() => setCreating(true)}>New webhook</button>
        </p>
      )}
      <ErrorBox error={error} />
      {note && <p class="notice" role="status" id="webhook-note">{note}</p>}
      <Status loaded={hooks} empty="No webhooks yet." isEmpty={rows.length === 0}>
        <ul class="webhooks">
          {rows.map((w) => (
            <li key={w.id} data-webhook={w.id}>
              <h3>
                <code>{w.url}</code> <span class={`badge ${w.enabled ? "working" : "bad"}`}>{w.enabled ? "enabled" : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ""}`}</span>
              </h3>
              <p class="muted">
                {w.description ? `${w.description} · ` : ""}events: {w.eventTypes.length ? w.eventTypes.join(", ") : "all"} · sessions: {w.sessions.length ? w.sessions.join(", ") : "all"} · created {when(w.createdAt)}
              </p>
              <div class="actions">
                <button
                  type="button"
                  onClick={() =>
                    run(async () => {
                      const r = await api.webhooks.sendTestEvent({ webhook: w.id });
                      const d = r.delivery;
                      setNote(d ? `Test event ${d.eventId}: ${d.outcome}${d.httpStatus ? ` (HTTP ${d.httpStatus})` : ""}${d.error ? ` — ${d.error}` : ""}` : "Test event sent.");
                    })
                  }
                >
                  Send test event
                </button>
                <button type="button" aria-expanded={editing === w.id} onClick={() => setEditing(editing === w.id ? undefined : w.id)}>Edit</button>
                <button type="button" onClick={() => act(() => api.webhooks.updateWebhook({ webhook: w.id, enabled: !w.enabled }))}>{w.enabled ? "Disable" : "Enable"}</button>
                <ConfirmButton
                  label="Rotate secret"
                  question="Make a new secret? The old one stays valid for a while."
                  onConfirm={() =>
                    run(async () => {
                      const r = await api.webhooks.rotateWebhookSecret({ webhook: w.id });
                      setSecret({ secret: r.secret, what: `new signing secret (the previous one is accepted until ${when(r.previousValidUntil)})` });
                    })
                  }
                />
                <ConfirmButton label="Delete" question="Delete this webhook?" onConfirm={() => act(() => api.webhooks.deleteWebhook({ webhook: w.id }))} />
                <button type="button" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? undefined : w.id)}>Deliveries</button>
              </div>
              {editing === w.id && (
                <WebhookForm
                  initial={w}
                  submitLabel="Save webhook"
                  onCancel={() => setEditing(undefined)}
                  onSubmit={async (v) => {
                    await api.webhooks.updateWebhook({ webhook: w.id, url: v.url, description: v.description, eventTypes: v.eventTypes, updateEventTypes: true, sessions: v.sessions, updateSessions: true });
                    setEditing(undefined);
                    hooks.reload();
                  }}
                />
              )}
              {open === w.id && <Deliveries webhook={w.id} />}
            </li>
          ))}
        </ul>
      </Status>
    </section>
  );
}
