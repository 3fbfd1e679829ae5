import { once } from "node:events";
import net from "node:net";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/open-database.js";

describe("embedded PGlite", () => {
  it("lets timers and sockets run while a long chain of statements runs (it answers without I/O)", async () => {
    const { db } = await openDatabase({ databaseUrl: undefined, dataDir: "memory://" });
    const server = net.createServer((s) => s.pipe(s));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    try {
      const total = 3000;
      let done = 0;
      let timerAt = -1;
      let echoAt = -1;
      setTimeout(() => (timerAt = done), 0);
      socket.once("data", () => (echoAt = done));
      socket.write("ping");
      for (; done < total; done++) await sql`select 1`.execute(db);
      // Both ran while the chain was still going, not after it.
      expect(timerAt).toBeGreaterThanOrEqual(0);
      expect(timerAt).toBeLessThan(total);
      expect(echoAt).toBeGreaterThanOrEqual(0);
      expect(echoAt).toBeLessThan(total);
    } finally {
      socket.destroy();
      server.close();
      await db.destroy();
    }
  });
});
