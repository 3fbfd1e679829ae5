// Words and times as the contract's JSON spells them.
import { MessageStatus } from "../../gen/wagateway/v1/message_pb.js";
import { SessionStatus } from "../../gen/wagateway/v1/session_pb.js";

/** `working`, `scan_qr_code`, … */
export const sessionWord = (s: SessionStatus): string => (SessionStatus[s] ?? "unspecified").toLowerCase();

/** `queued`, `sent`, `read`, … */
export const messageWord = (s: MessageStatus): string => (MessageStatus[s] ?? "unspecified").toLowerCase();

/** A millisecond timestamp as local date and time, or an em dash. */
export function when(ms: bigint | number | undefined): string {
  if (ms === undefined || ms === 0n || ms === 0) return "—";
  return new Date(Number(ms)).toLocaleString();
}
