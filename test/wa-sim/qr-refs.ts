import { randomBytes } from 'node:crypto';
import type { SimConnection } from './sim-connection.js';

/** A QR ref handed to one registering connection, with its server-side expiry. */
export interface QrRef {
  readonly conn: SimConnection;
  readonly expiresAt: number;
}

/**
 * The refs offered in `pair-device`, each living for its own window (first 60 s, then 20 s
 * each, unless a fixed lifetime is configured), usable once.
 */
export class QrRefBook {
  private readonly refs = new Map<string, QrRef>();

  constructor(private readonly lifetimeMs?: number) {}

  /** Creates `count` refs for `conn`; returns them in display order. */
  offer(conn: SimConnection, count: number): string[] {
    const out: string[] = [];
    let expiresAt = Date.now();
    for (let i = 0; i < count; i++) {
      const ref = `2@${randomBytes(24).toString('base64')}`;
      expiresAt += this.lifetimeMs ?? (i === 0 ? 60_000 : 20_000);
      this.refs.set(ref, { conn, expiresAt });
      out.push(ref);
    }
    return out;
  }

  /** Claims a scanned ref: throws if unknown, used or expired; spends every ref of that connection. */
  claim(ref: string): SimConnection {
    const entry = this.refs.get(ref);
    if (!entry) throw new Error(`unknown or already used QR ref ${ref}`);
    if (Date.now() > entry.expiresAt) throw new Error('QR ref expired');
    this.forget(entry.conn);
    return entry.conn;
  }

  /** Drops every ref of a connection. */
  forget(conn: SimConnection): void {
    for (const [ref, e] of this.refs) if (e.conn === conn) this.refs.delete(ref);
  }
}
