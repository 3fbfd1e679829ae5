/** A fenced write found that this gateway no longer delivers for the endpoint (lease taken over, endpoint disabled or deleted). */
export class WebhookLeaseLostError extends Error {
  override name = "WebhookLeaseLostError";
  constructor(readonly webhookId: string) {
    super(`this gateway no longer delivers for webhook ${webhookId}`);
  }
}

/** A fill found the cursor moved under it (a replay rewound it): reload and try again. */
export class CursorMovedError extends Error {
  override name = "CursorMovedError";
}
