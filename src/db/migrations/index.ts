import type { Migration } from "kysely";
import * as m0001 from "./0001-initial.js";
import * as m0002 from "./0002-events.js";
import * as m0003 from "./0003-wa-auth.js";
import * as m0004 from "./0004-cluster.js";
import * as m0005 from "./0005-messages.js";
import * as m0006 from "./0006-webhooks.js";
import * as m0007 from "./0007-session-last-error.js";
import * as m0008 from "./0008-sending.js";

/**
 * Every migration, in order. Names sort lexically; append new files with the
 * next number and list them here. Applied files are never edited. Numbers are
 * handed out to parallel work, so a lower one may land after a higher one:
 * the migrator applies whatever is missing (unordered).
 */
export const migrations: Record<string, Migration> = {
  "0001-initial": m0001,
  "0002-events": m0002,
  "0003-wa-auth": m0003,
  "0004-cluster": m0004,
  "0005-messages": m0005,
  "0006-webhooks": m0006,
  "0007-session-last-error": m0007,
  "0008-sending": m0008,
};
