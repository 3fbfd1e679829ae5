// The start-up bench's PostgreSQL floor: a bare Node.js process (no TypeScript loader) that opens a `pg.Pool`
// on the URL given as argv[2], answers one query and prints `{"answered":true,"selfMs":…}` on stdout, then
// idles until SIGTERM (so its idle RSS can be read).
const t0 = performance.now();
const { default: pg } = await import("pg");
const pool = new pg.Pool({ connectionString: process.argv[2], max: 10 });
const { rows } = await pool.query("select 1 as one");
if (rows[0]?.one !== 1) throw new Error("unexpected answer");
process.stdout.write(JSON.stringify({ answered: true, selfMs: Math.round(performance.now() - t0) }) + "\n");
const idle = setInterval(() => {}, 60_000);
process.once("SIGTERM", () => {
  clearInterval(idle);
  void pool.end().then(() => process.exit(0));
});
