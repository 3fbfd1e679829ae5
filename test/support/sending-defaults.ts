/**
 * Test gateways send on a shortened clock unless a test says otherwise: the
 * rate windows last 1 s and 60 s instead of a minute and an hour, with no
 * jitter, no ramp and brief typing, so suites that send many messages keep
 * their wall time. Tests of pacing and typing override these.
 */
export const testSendingEnv: Record<string, string> = {
  PACING_MINUTE_MS: "1000",
  PACING_HOUR_MS: "60000",
  SEND_JITTER_MIN_MS: "0",
  SEND_JITTER_MAX_MS: "0",
  PACING_RAMP_MS: "0",
  TYPING_MIN_MS: "10",
  TYPING_MS_PER_CHAR: "0",
  TYPING_MAX_MS: "10",
};
