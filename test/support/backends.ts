/** A database a suite runs against. */
export interface Backend {
  name: "pglite" | "postgres";
  /** `DATABASE_URL` for the gateway; undefined selects PGlite. */
  databaseUrl: string | undefined;
}

/**
 * PGlite always; real PostgreSQL too when `TEST_DATABASE_URL` is set (CI sets
 * it to a fresh database created for the run).
 */
export const backends: Backend[] = [
  { name: "pglite", databaseUrl: undefined },
  ...(process.env.TEST_DATABASE_URL ? [{ name: "postgres" as const, databaseUrl: process.env.TEST_DATABASE_URL }] : []),
];
