// What every page reads: the clients, the live feed and whether the credential may write.
import { createContext } from "preact";
import { useContext, useEffect, useRef } from "preact/hooks";
import type { Event } from "../../gen/wagateway/v1/event_pb.js";
import type { Api } from "./api.js";
import type { EventFeed } from "./event-feed.js";

/** The signed-in console. */
export interface ConsoleState {
  api: Api;
  feed: EventFeed;
  /** True when the credential lacks `manage`: write actions are hidden. */
  readOnly: boolean;
}

/** The signed-in console's context. */
export const ConsoleContext = createContext<ConsoleState | undefined>(undefined);

/** The signed-in console (pages render only inside it). */
export function useConsole(): ConsoleState {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error("outside the console");
  return c;
}

/** Calls `fn` for each live event while the component is mounted. */
export function useEvents(fn: (ev: Event) => void): void {
  const { feed } = useConsole();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => feed.subscribe((ev) => ref.current(ev)), [feed]);
}
