import { jidDecode } from '@whiskeysockets/baileys';

/** A JID split into user, device (0 when absent) and server. */
export interface ParsedJid {
  user: string;
  device: number;
  server: string;
}

/** Parses `user[:dev]@server`; a bare number (with or without `+`) is read as a phone number. */
export function parseJid(jidOrPhone: string): ParsedJid {
  if (!jidOrPhone.includes('@')) {
    const [user, dev] = jidOrPhone.replace(/^\+/, '').split(':');
    return { user: user!, device: Number(dev ?? 0), server: 's.whatsapp.net' };
  }
  const d = jidDecode(jidOrPhone);
  if (!d?.user) throw new Error(`wa-sim: not a user JID: ${jidOrPhone}`);
  return { user: d.user, device: d.device ?? 0, server: d.server };
}

/** `user@s.whatsapp.net` or `user:dev@s.whatsapp.net` (device 0 has no `:0`). */
export function pnJid(user: string, device = 0): string {
  return device ? `${user}:${device}@s.whatsapp.net` : `${user}@s.whatsapp.net`;
}

/** `user@lid` or `user:dev@lid`. */
export function lidJid(user: string, device = 0): string {
  return device ? `${user}:${device}@lid` : `${user}@lid`;
}
