/** Help of `serve`. */
export const serveHelp = `Usage: wa-gateway serve

Runs the gateway until SIGTERM/SIGINT, configured by the environment (PORT,
HOST, DATABASE_URL, DATA_DIR, … — see the README). On the first start it
prints an admin API key once.`;

/** `serve`: the same entry point as `npm start`. */
export async function serveCommand(): Promise<number | undefined> {
  await import("../main.js");
  return undefined; // keeps running; main.ts exits on a signal
}
