import { create } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import type { StoredEvent } from "./stored-event.js";

/** One message per stored event: the hub hands the same object to every subscriber. */
const built = new WeakMap<StoredEvent, Event>();

/** The protobuf `Event` of a stored event (built once, shared by every stream that sends it). */
export function toEventMessage(e: StoredEvent): Event {
  let msg = built.get(e);
  if (!msg) {
    msg = create(EventSchema, {
      id: e.id.toString(),
      type: e.type,
      sessionId: e.sessionId,
      organizationId: e.organizationId,
      occurredAt: BigInt(e.occurredAt.getTime()),
      data: e.data as Event["data"],
    });
    built.set(e, msg);
  }
  return msg;
}
