import { defineConfig } from "vitest/config";

/**
 * `npm run test:reliability`: load, database and process faults, bad input
 * and security, against real gateway processes. One file at a time (they
 * measure the machine); bounded to a few minutes. Files end in
 * `.reliability.ts` so `npm test` does not pick them up.
 */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.reliability.ts"],
    globalSetup: ["test/support/build-dist.ts"],
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
