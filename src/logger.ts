import { type DestinationStream, destination as pinoDestination, type Logger as PinoLogger, pino, stdSerializers, stdTimeFunctions } from "pino";

/** Severity of a log line (`LOG_LEVEL`, `WA_LOG_LEVEL`); pino's `fatal` is written too, for a start that fails. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * The gateway's logger: pino, called with pino's own API — `log.info({ field }, "message")`,
 * `log.child({ sessionId })`. Lines are JSON: `{"level":"info","time":"<ISO>",…bindings,…fields,"msg":…}`.
 */
export type Logger = PinoLogger;

/**
 * Field paths whose values are written as `[redacted]`: HTTP credentials, tokens, API keys, webhook secrets,
 * passwords and database URLs, and Baileys' auth state (its creds and signal keys, the pairing data of its
 * registration node). Matched at the top of a line's fields and one level down (`*.x`).
 */
export const redactedPaths: readonly string[] = [
  "authorization",
  "cookie",
  "*.authorization",
  "*.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  'headers["set-cookie"]',
  'headers["x-api-key"]',
  "token",
  "*.token",
  "accessToken",
  "refreshToken",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "secrets",
  "signingSecret",
  "*.signingSecret",
  "password",
  "*.password",
  "databaseUrl",
  "*.databaseUrl",
  "creds",
  "*.creds",
  "keys",
  "*.keys",
  "node.devicePairingData",
];

/** What a redacted value is replaced with. */
export const redactedText = "[redacted]";

/** Secret shapes scrubbed from error messages and stacks (which no field path reaches). */
const secretShapes: [RegExp, string][] = [
  [/\bwag_[\w-]+/g, `wag_${redactedText}`],
  [/\bwhsec_[\w+/=-]+/g, `whsec_${redactedText}`],
  [/\bBearer\s+[^\s"',;]+/gi, `Bearer ${redactedText}`],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, redactedText], // a JWT
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, `$1:${redactedText}@`], // a password in a URL
];

/** `text` with API keys, webhook secrets, bearer tokens, JWTs and URL passwords replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [shape, replacement] of secretShapes) out = out.replace(shape, replacement);
  return out;
}

/**
 * pino's error serializer (type, message and stack with their causes, own fields) with secret shapes scrubbed
 * from its strings; anything that is not an error passes unchanged.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(out)) if (typeof value === "string") out[key] = scrubSecrets(value);
  return out;
}

let stderr: DestinationStream | undefined;

/**
 * Standard error, written synchronously: the last lines before an exit (`stopped`, a fatal error) are never
 * left in a buffer.
 */
function stderrDestination(): DestinationStream {
  return (stderr ??= pinoDestination({ dest: 2, sync: true }));
}

/**
 * Creates the logger: JSON lines at `level` and above with `bindings` on every line, on standard error unless
 * `destination` is given (tests read lines from a stream of their own). The fields of {@link redactedPaths}
 * are redacted, and an error under `err` or `error` is written with its type, message and stack.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: bindings,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError, error: serializeError },
      redact: { paths: [...redactedPaths], censor: redactedText },
    },
    destination ?? stderrDestination(),
  );
}
