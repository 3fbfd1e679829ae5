import type { WASocket } from "@whiskeysockets/baileys";
import { baileys } from "../whatsapp/baileys.js";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** Whether one phone number has a WhatsApp account. */
export interface NumberCheckResult {
  phone: string;
  exists: boolean;
  jid: string | null;
  lid: string | null;
}

/**
 * CheckNumbers answers, cached per organization and phone for `ttlMs`:
 * only the phones without a fresh answer are asked, in one usync query
 * (contact and LID protocols) on the session's socket.
 */
export async function checkNumbers(
  db: Kysely<Database>,
  organizationId: string,
  phones: readonly string[],
  ttlMs: number,
  sock: () => WASocket,
): Promise<NumberCheckResult[]> {
  const fresh = new Date(Date.now() - ttlMs);
  const cached = ttlMs === 0 ? [] : await db
    .selectFrom("number_checks")
    .selectAll()
    .where("organization_id", "=", organizationId)
    .where("phone", "in", [...phones])
    .where("checked_at", ">=", fresh)
    .execute();
  const known = new Map<string, NumberCheckResult>(cached.map((r) => [r.phone, { phone: r.phone, exists: r.exists, jid: r.jid, lid: r.lid }]));
  const missing = phones.filter((p) => !known.has(p));
  if (missing.length > 0) {
    const socket = sock();
    // A socket exists, so Baileys is loaded.
    const { USyncQuery, USyncUser } = baileys();
    const query = new USyncQuery().withContactProtocol().withLIDProtocol();
    for (const p of missing) query.withUser(new USyncUser().withPhone(`+${p}`));
    const result = await socket.executeUSyncQuery(query);
    const found = new Map<string, NumberCheckResult>();
    for (const entry of result?.list ?? []) {
      const e = entry as { id: string; contact?: boolean; lid?: string };
      const phone = e.id.split("@")[0]!.split(":")[0]!;
      found.set(phone, { phone, exists: Boolean(e.contact), jid: e.contact ? `${phone}@s.whatsapp.net` : null, lid: e.contact && e.lid ? e.lid : null });
    }
    const now = new Date();
    const answers = missing.map((p) => found.get(p) ?? { phone: p, exists: false, jid: null, lid: null });
    for (const a of answers) known.set(a.phone, a);
    await db
      .insertInto("number_checks")
      .values(answers.map((a) => ({ organization_id: organizationId, phone: a.phone, exists: a.exists, jid: a.jid, lid: a.lid, checked_at: now })))
      .onConflict((oc) => oc.columns(["organization_id", "phone"]).doUpdateSet((eb) => ({
        exists: eb.ref("excluded.exists"),
        jid: eb.ref("excluded.jid"),
        lid: eb.ref("excluded.lid"),
        checked_at: eb.ref("excluded.checked_at"),
      })))
      .execute();
  }
  return phones.map((p) => known.get(p)!);
}
