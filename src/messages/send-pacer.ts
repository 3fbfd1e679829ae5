import type { MessageRow, SessionRow } from "../db/schema.js";
import type { MessageFence } from "./message-store.js";
import { jitter, nextSendAt, type PacingSettings, type Rates, schedule, trimWindow } from "./pacing.js";
import type { SendingStore } from "./sending-store.js";

/** What one session's pacer needs. */
export interface SendPacerDeps {
  sessionId: string;
  settings: PacingSettings;
  store: SendingStore;
  fence: MessageFence;
  /** The session row now (its rates may change while messages wait). */
  session: () => Promise<SessionRow | undefined>;
  /** The outbox now, oldest first (for the `notBefore` of the messages behind the waiting one). */
  pending: () => Promise<MessageRow[]>;
}

/** Longest single sleep: rates are read again at least this often while a message waits. */
const maxSleepMs = 5_000;
/** A `notBefore` estimate is written when a message waits longer than this, and rewritten when it moves by more. */
const notBeforeSlackMs = 1_000;

/**
 * The pacing of one session's outbox on its holder: the send times of the
 * last hour (loaded from the database on every (re)connect and take-over,
 * then kept as sends happen), the ramp after the connect, and waiting for
 * the next turn, interruptibly, with `notBefore` written on the queued
 * messages that wait.
 */
export class SendPacer {
  private sent: number[] | undefined;
  private rampFrom: number | undefined;
  private wake: (() => void) | undefined;
  private readonly written = new Map<string, number | null>();

  constructor(private readonly deps: SendPacerDeps) {}

  /** The session (re)connected or was taken over: reload the budget from the database, ramp up again. */
  restart(now = Date.now()): void {
    this.sent = undefined;
    this.rampFrom = now;
    this.written.clear();
    this.wakeUp();
  }

  /** Ends a wait now (rates changed, new messages, the socket went away). */
  wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** A message went out at `at`: it counts against both windows. */
  record(at: number): void {
    this.sent?.push(at);
  }

  /**
   * Waits until `row` may go out, leaving `leadMs` (the typing) before that
   * time. Returns the time the message may go, or undefined when `active()`
   * turned false meanwhile.
   */
  async waitTurn(row: MessageRow, leadMs: (s: SessionRow) => number, active: () => boolean): Promise<{ at: number; session: SessionRow } | undefined> {
    const { settings } = this.deps;
    const gap = jitter(settings);
    for (;;) {
      if (!active()) return undefined;
      const session = await this.deps.session();
      if (!session) return undefined;
      const sent = await this.times();
      const now = Date.now();
      trimWindow(sent, settings, now);
      const rates: Rates = { perMin: session.rate_per_min, perHour: session.rate_per_hour };
      const at = nextSendAt(sent, rates, settings, now, gap, this.rampFrom);
      const startAt = at - leadMs(session);
      if (startAt <= now) return { at, session };
      await this.writeNotBefore(row, at, sent, rates, now);
      await this.sleep(Math.min(startAt - now, maxSleepMs));
    }
  }

  /**
   * How many more messages may go right now, beside the one whose turn came
   * (at most `max`): none when a jitter separates sends, else what the
   * windows and the ramp leave of the budget.
   */
  allowedNow(session: SessionRow, max: number): number {
    const { settings } = this.deps;
    if (max <= 0 || settings.jitterMaxMs > 0 || !this.sent) return 0;
    const now = Date.now();
    const times = [...this.sent, now];
    const rates: Rates = { perMin: session.rate_per_min, perHour: session.rate_per_hour };
    let n = 0;
    while (n < max && nextSendAt(times, rates, settings, now, 0, this.rampFrom) <= now) {
      times.push(now);
      n++;
    }
    return n;
  }

  /** Clears what was remembered about a message that left the queue. */
  forget(id: string): void {
    this.written.delete(id);
  }

  private async times(): Promise<number[]> {
    if (!this.sent) this.sent = await this.deps.store.sentTimes(this.deps.sessionId, new Date(Date.now() - this.deps.settings.hourMs));
    return this.sent;
  }

  private async writeNotBefore(row: MessageRow, at: number, sent: readonly number[], rates: Rates, now: number): Promise<void> {
    const next = (await this.deps.pending()).filter((r) => r.id !== row.id && r.status === "queued");
    const later = schedule([...sent, at], rates, this.deps.settings, now, next.length, this.rampFrom);
    const updates: { id: string; at: Date | null }[] = [];
    const consider = (r: MessageRow, t: number) => {
      const known = this.written.has(r.id) ? this.written.get(r.id)! : (r.not_before?.getTime() ?? null);
      if (known === null ? t - now <= notBeforeSlackMs : Math.abs(known - t) <= notBeforeSlackMs) return;
      this.written.set(r.id, t);
      updates.push({ id: r.id, at: new Date(t) });
    };
    consider(row, at);
    next.forEach((r, i) => consider(r, later[i]!));
    await this.deps.store.setNotBefore(this.deps.sessionId, updates, this.deps.fence);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
