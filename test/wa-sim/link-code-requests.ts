import type { BinaryNode } from '@whiskeysockets/baileys';
import type { SimConnection } from './sim-connection.js';

/** A companion's `companion_hello`: a request to be linked by pairing code. */
export interface CompanionHello {
  readonly conn: SimConnection;
  readonly phoneNumber: string;
  readonly wrappedEphemeral: Buffer;
  readonly serverAuthKey: Buffer | undefined;
}

/**
 * Pending pairing-code requests: the phone side waits here for a companion_hello for its
 * number, then for that connection's companion_finish.
 */
export class LinkCodeRequests {
  private readonly hellos: CompanionHello[] = [];
  private readonly helloListeners = new Set<() => void>();
  private readonly finishWaiters = new Map<SimConnection, (node: BinaryNode) => void>();

  /** Records a companion_hello and wakes anyone waiting for it. */
  addHello(hello: CompanionHello): void {
    this.hellos.push(hello);
    for (const listener of [...this.helloListeners]) listener();
  }

  /** Resolves with (and consumes) the newest live hello for `phoneNumber`, waiting up to `timeoutMs`. */
  takeHello(phoneNumber: string, timeoutMs: number): Promise<CompanionHello> {
    const take = (): CompanionHello | undefined => {
      const hello = [...this.hellos]
        .reverse()
        .find(h => h.phoneNumber === phoneNumber && h.conn.isOpen && h.conn.phase === 'registration');
      if (hello) this.hellos.splice(this.hellos.indexOf(hello), 1);
      return hello;
    };
    const found = take();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        const hello = take();
        if (!hello) return;
        cleanup();
        resolve(hello);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no pairing-code request for ${phoneNumber}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.helloListeners.delete(listener);
      };
      this.helloListeners.add(listener);
    });
  }

  /** Waits for `conn`'s companion_finish stanza (the `<link_code_companion_reg>` node). */
  waitForFinish(conn: SimConnection, timeoutMs: number): Promise<BinaryNode> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.finishWaiters.delete(conn);
        reject(new Error('companion_finish not received (wrong code on the companion side?)'));
      }, timeoutMs);
      conn.onClose(() => {
        clearTimeout(timer);
        this.finishWaiters.delete(conn);
        reject(new Error('connection closed during pairing-code exchange'));
      });
      this.finishWaiters.set(conn, node => {
        clearTimeout(timer);
        this.finishWaiters.delete(conn);
        resolve(node);
      });
    });
  }

  /** Hands a received companion_finish to its waiter, if any. */
  deliverFinish(conn: SimConnection, node: BinaryNode): void {
    this.finishWaiters.get(conn)?.(node);
  }

  /** Forgets everything about a closed connection. */
  forget(conn: SimConnection): void {
    for (let i = this.hellos.length - 1; i >= 0; i--) if (this.hellos[i]!.conn === conn) this.hellos.splice(i, 1);
  }
}
