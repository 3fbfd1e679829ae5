// Events: a live tail of the event log with type and session filters.
import { useState } from "preact/hooks";
import type { Event } from "../../../gen/wagateway/v1/event_pb.js";
import { useConsole, useEvents } from "../context.js";
import { when } from "../format.js";

/** The events page. */
export function EventsPage() {
  const { feed } = useConsole();
  const [events, setEvents] = useState<readonly Event[]>(() => [...feed.recent()]);
  const [type, setType] = useState("");
  const [session, setSession] = useState("");
  const [paused, setPaused] = useState(false);
  useEvents(() => {
    if (!paused) setEvents([...feed.recent()]);
  });
  const shown = events.filter((e) => (!type || e.type.startsWith(type.trim())) && (!session || e.sessionId.includes(session.trim()))).slice(0, 200);
  return (
    <section aria-labelledby="events-h">
      <h2 id="events-h">Events</h2>
      <form class="grid" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type starts with
          <input name="type" value={type} placeholder="message." onInput={(e) => setType(e.currentTarget.value)} />
        </label>
        <label>
          Session id contains
          <input name="session" value={session} onInput={(e) => setSession(e.currentTarget.value)} />
        </label>
        <button type="button" aria-pressed={paused} onClick={() => { setPaused(!paused); setEvents([...feed.recent()]); }}>
          {paused ? "Resume" : "Pause"}
        </button>
      </form>
      <p class="muted" role="status">{shown.length} of {events.length} recent events (last 10 minutes, then live)</p>
      {shown.length === 0 ? (
        <p class="empty">No events match.</p>
      ) : (
        <ul class="events" id="events">
          {shown.map((e) => (
            <li key={e.id}>
              {when(e.occurredAt)} <strong>{e.type}</strong> {e.sessionId && <code>{e.sessionId}</code>} {JSON.stringify(e.data ?? {})}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
