import pg from "pg";
import type { Logger } from "../logger.js";
import { eventsChannel } from "./event-log.js";

/** A `LISTEN` connection that can be closed. */
export interface PgListener {
  close(): Promise<void>;
}

/**
 * Keeps one dedicated PostgreSQL connection listening on the events channel
 * and calls `onNotify` for each notification — and once after every
 * (re)connect, to catch up on what was committed while disconnected.
 * Reconnects with capped exponential backoff.
 */
export function listenForEvents(databaseUrl: string, onNotify: () => void, log: Logger): PgListener {
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;
  let retry: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
    client = c;
    c.on("notification", () => onNotify());
    c.on("error", (err) => {
      log.warn({ err }, "event listener connection failed");
      reconnect(c);
    });
    c.on("end", () => reconnect(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${eventsChannel}`);
      attempt = 0;
      onNotify();
    } catch (err) {
      log.warn({ err }, "event listener could not connect");
      reconnect(c);
    }
  };

  const reconnect = (c: pg.Client) => {
    if (closed || client !== c) return;
    client = undefined;
    c.end().catch(() => {});
    const delay = Math.min(30_000, 250 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    retry = setTimeout(() => void connect(), delay);
    retry.unref();
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
