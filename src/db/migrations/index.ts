import type { Migration } from "kysely";
import * as m0001 from "./0001-initial.js";

/**
 * Every migration, in order. Names sort lexically; append new files with the
 * next number and list them here. Applied files are never edited.
 */
export const migrations: Record<string, Migration> = {
  "0001-initial": m0001,
};
