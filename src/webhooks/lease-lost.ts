/** A fenced write found that this gateway no longer delivers for the endpoint (lease taken over, endpoint disabled or deleted). */
export class WebhookLeaseLostError extends Error {
  override name = "WebhookLeaseLostError";
  constructor(readonly webhookId: string) {
    super(`this gateway no longer delivers for webhook ${webhookId}`);
  }
}

