import { create } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import type { StoredEvent } from "./stored-event.js";

/** The protobuf `Event` of a stored event. */
export function toEventMessage(e: StoredEvent): Event {
  return create(EventSchema, {
    id: e.id.toString(),
    type: e.type,
    sessionId: e.sessionId,
    organizationId: e.organizationId,
    occurredAt: BigInt(e.occurredAt.getTime()),
    data: e.data as Event["data"],
  });
}
