/** Outbound and inbound statuses of a message (the contract's words). */
export type MessageStatusWord = "queued" | "sending" | "sent" | "delivered" | "read" | "played" | "failed" | "received";

/** Content kinds (the contract's `type` words); `other` for what is not normalized. */
export type MessageTypeWord = "text" | "image" | "video" | "audio" | "document" | "location" | "contact" | "reaction" | "revoke" | "other";

/** Where a message came from. */
export type MessageSourceWord = "api" | "phone" | "contact";

/** The order outbound statuses move in; a receipt never moves a message back. */
const rank: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, played: 5 };

/** True when `next` is later than `current` in the outbound order (failed and received never move). */
export function isForward(current: string, next: MessageStatusWord): boolean {
  const a = rank[current];
  const b = rank[next];
  return a !== undefined && b !== undefined && b > a;
}

/** Media content kinds. */
export const mediaKinds = ["image", "video", "audio", "document"] as const;

/** One of {@link mediaKinds}. */
export type MediaKind = (typeof mediaKinds)[number];

/** Narrows a type word to a media kind. */
export function isMediaKind(t: string): t is MediaKind {
  return (mediaKinds as readonly string[]).includes(t);
}
