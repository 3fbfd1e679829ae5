import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { counter, gauge, histogram, type Metric } from "../metrics/registry.js";

/** What delivery reports to `/metrics`. */
export interface WebhookMetrics {
  /** One attempt ended with `outcome` (`succeeded`, `http_error`, `timeout`, `network_error`, `blocked`). */
  attempt(outcome: string): void;
  /** An event reached its receiver (2xx) this many seconds after it occurred. */
  delivered(seconds: number): void;
  metrics: Metric[];
}

/** Creates the webhook series: attempts by outcome and event-to-2xx latency. */
export function createWebhookMetrics(): WebhookMetrics {
  const attempts = counter("wagateway_webhook_deliveries_total", "Webhook delivery attempts by outcome.");
  const latency = histogram(
    "wagateway_webhook_event_to_2xx_seconds",
    "Time from an event occurring to its webhook answered 2xx.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 36000],
  );
  return {
    attempt: (outcome) => attempts.inc({ outcome }),
    delivered: (seconds) => latency.observe({}, seconds),
    metrics: [attempts, latency],
  };
}

/** Gauges read at scrape time: endpoints this gateway delivers for, and events waiting in every endpoint's queue. */
export function webhookGauges(db: Kysely<Database>, delivering: () => number): Metric[] {
  return [
    gauge("wagateway_webhook_endpoints_delivering", "Webhook endpoints this gateway delivers for.", () => [{ labels: {}, value: delivering() }]),
    gauge("wagateway_webhook_pending_events", "Events queued for webhook endpoints, not yet delivered (all gateways).", async () => {
      const row = await db.selectFrom("webhook_pending").select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirst();
      return [{ labels: {}, value: Number(row?.n ?? 0) }];
    }),
  ];
}
