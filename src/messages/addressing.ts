import { validationError } from "../errors/api-error.js";

/** A 1:1 chat partner as addressed: the JID to send to and what it tells about the contact. */
export interface Recipient {
  /** `digits@s.whatsapp.net` or `digits@lid`. */
  jid: string;
  phone: string | null;
  lid: string | null;
}

const phoneDigits = /^[1-9]\d{5,14}$/;

/**
 * Parses a recipient: phone digits (a leading `+`, spaces and dashes
 * allowed), `…@s.whatsapp.net` or `…@lid`. A group JID, or anything else, is
 * a `validation_error` naming `field`.
 */
export function parseRecipient(raw: string, field: string): Recipient {
  const s = raw.trim();
  if (s === "") throw validationError({ [field]: "is required" });
  const at = s.indexOf("@");
  if (at >= 0) {
    const user = s.slice(0, at);
    const server = s.slice(at + 1).toLowerCase();
    if (server === "g.us") throw validationError({ [field]: "groups are not supported yet: send to a phone number, …@s.whatsapp.net or …@lid" });
    if (server === "s.whatsapp.net" || server === "c.us") {
      if (!phoneDigits.test(user)) throw validationError({ [field]: "must be 6 to 15 digits with the country code before @s.whatsapp.net" });
      return { jid: `${user}@s.whatsapp.net`, phone: user, lid: null };
    }
    if (server === "lid") {
      if (!/^\d{1,20}$/.test(user)) throw validationError({ [field]: "must be digits before @lid" });
      return { jid: `${user}@lid`, phone: null, lid: `${user}@lid` };
    }
    throw validationError({ [field]: "must be a phone number, …@s.whatsapp.net or …@lid (broadcasts and newsletters are not supported)" });
  }
  const digits = s.replace(/^\+/, "").replace(/[\s-]/g, "");
  if (!phoneDigits.test(digits)) throw validationError({ [field]: "must be a phone number: 6 to 15 digits with the country code (a leading + allowed), …@s.whatsapp.net or …@lid" });
  return { jid: `${digits}@s.whatsapp.net`, phone: digits, lid: null };
}

/** The contact of a JID as `{phone, lid}` (device suffixes dropped). */
export function contactOfJid(jid: string | null | undefined): { phone: string | null; lid: string | null } {
  if (!jid) return { phone: null, lid: null };
  const [userPart, server] = jid.split("@") as [string, string | undefined];
  const user = userPart.split(":")[0]!;
  if (server === "lid") return { phone: null, lid: `${user}@lid` };
  if (server === "s.whatsapp.net" || server === "c.us") return { phone: user, lid: null };
  return { phone: null, lid: null };
}

/** A JID without its device suffix (`123:7@s.whatsapp.net` → `123@s.whatsapp.net`). */
export function bareJid(jid: string): string {
  const [userPart, server] = jid.split("@") as [string, string | undefined];
  const user = userPart.split(":")[0]!;
  return server === "c.us" ? `${user}@s.whatsapp.net` : `${user}@${server ?? "s.whatsapp.net"}`;
}
