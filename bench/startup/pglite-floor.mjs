// The start-up bench's PGlite floor: a bare Node.js process (no TypeScript loader) that opens PGlite in the
// directory given as argv[2] (created when empty), answers one query and prints `{"answered":true,"selfMs":…}`
// on stdout, then idles until SIGTERM (so its idle RSS can be read), closing the database before it exits.
const t0 = performance.now();
const { PGlite } = await import("@electric-sql/pglite");
const db = await PGlite.create(process.argv[2]);
const { rows } = await db.query("select 1 as one");
if (rows[0]?.one !== 1) throw new Error("unexpected answer");
process.stdout.write(JSON.stringify({ answered: true, selfMs: Math.round(performance.now() - t0) }) + "\n");
const idle = setInterval(() => {}, 60_000);
process.once("SIGTERM", () => {
  clearInterval(idle);
  void db.close().then(() => process.exit(0));
});
