import { decodeBinaryNode, encodeBinaryNode, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import { WebSocket, type RawData } from 'ws';
import type { ServerIdentity } from './cert-chain.js';
import { ClientFrameReader, encodeFrame, MalformedFrameError } from './frame-codec.js';
import { NoiseServerHandshake, type NoiseTransport } from './noise-server.js';

/** Where a connection stands in its life. */
export type ConnectionPhase = 'await-hello' | 'await-finish' | 'registration' | 'login' | 'closed';

/** Callbacks through which a connection hands protocol events to the simulator. */
export interface ConnectionHandler {
  /** True when the next handshake must be refused (socket closed, no ServerHello). */
  shouldRefuseHandshake(): boolean;
  /** The handshake finished with this client payload. */
  onClientPayload(conn: SimConnection, payload: proto.ClientPayload): void;
  /** A decrypted stanza arrived after the handshake (IQ results are routed to waiters first). */
  onStanza(conn: SimConnection, node: BinaryNode): void;
  /** The socket is gone. */
  onClosed(conn: SimConnection): void;
  /** A protocol or runtime error ended this connection. */
  onError(conn: SimConnection, error: unknown): void;
}

let nextConnectionId = 1;

/**
 * One client WebSocket: framing, the Noise handshake, encrypted stanza I/O and IQ-result
 * waiters. Anything malformed ends this socket only.
 */
export class SimConnection {
  /** Unique id for logs. */
  readonly id = nextConnectionId++;
  /** Current phase. */
  phase: ConnectionPhase = 'await-hello';
  /** The client's Noise static key (creds.noiseKey.public) once the handshake is done. */
  clientStaticKey: Buffer | undefined;
  /** `phone:device` once a login was accepted. */
  deviceKey: string | undefined;
  /** When true nothing is sent any more (fault: server went silent). */
  silent = false;
  /** Free-form per-flow state owned by the simulator. */
  readonly state = new Map<string, unknown>();

  private readonly reader = new ClientFrameReader();
  private handshake: NoiseServerHandshake | undefined;
  private transport: NoiseTransport | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly resultWaiters = new Map<string, (node: BinaryNode) => void>();
  private readonly closeWaiters = new Set<() => void>();

  constructor(
    private readonly socket: WebSocket,
    private readonly identity: ServerIdentity,
    private readonly handler: ConnectionHandler,
  ) {
    socket.on('message', (data: RawData) => {
      this.queue = this.queue.then(() => this.receive(data)).catch(err => this.fail(err));
    });
    socket.on('close', () => this.markClosed());
    socket.on('error', err => this.fail(err));
  }

  /** Whether the socket is still usable. */
  get isOpen(): boolean {
    return this.phase !== 'closed' && this.socket.readyState === WebSocket.OPEN;
  }

  /** Encrypts and sends a stanza (dropped when silent or closed). */
  send(node: BinaryNode): void {
    if (!this.transport || this.silent || !this.isOpen) return;
    this.socket.send(encodeFrame(this.transport.encrypt(encodeBinaryNode(node))));
  }

  /** Resolves with the client's `<iq type=result|error id=…>` answer; rejects on timeout or close. */
  waitForResult(id: string, timeoutMs: number): Promise<BinaryNode> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.resultWaiters.delete(id);
        this.closeWaiters.delete(onClose);
        fn();
      };
      const onClose = (): void => done(() => reject(new Error(`connection ${this.id} closed while waiting for iq ${id}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for iq ${id}`))), timeoutMs);
      this.resultWaiters.set(id, node => done(() => resolve(node)));
      this.closeWaiters.add(onClose);
    });
  }

  /** Registers a callback for when the socket closes (runs at once if already closed). */
  onClose(cb: () => void): void {
    if (this.phase === 'closed') cb();
    else this.closeWaiters.add(cb);
  }

  /** Closes the socket gracefully. */
  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
  }

  /** Destroys the TCP connection at once. */
  terminate(): void {
    this.socket.terminate();
  }

  private async receive(data: RawData): Promise<void> {
    if (this.phase === 'closed') return;
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    for (const frame of this.reader.push(chunk)) {
      if ((this.phase as ConnectionPhase) === 'closed') return;
      await this.onFrame(frame);
    }
  }

  private async onFrame(frame: Buffer): Promise<void> {
    switch (this.phase) {
      case 'await-hello': {
        if (this.handler.shouldRefuseHandshake()) {
          this.terminate();
          return;
        }
        this.handshake = new NoiseServerHandshake(this.reader.header!, this.identity.staticKey, this.identity.certChain);
        const hello = this.handshake.respondToClientHello(frame);
        this.phase = 'await-finish';
        this.socket.send(encodeFrame(hello));
        return;
      }
      case 'await-finish': {
        const result = this.handshake!.readClientFinish(frame);
        this.handshake = undefined;
        this.transport = result.transport;
        this.clientStaticKey = result.clientStaticKey;
        this.phase = result.payload.devicePairingData ? 'registration' : 'login';
        this.handler.onClientPayload(this, result.payload);
        return;
      }
      case 'registration':
      case 'login': {
        const node = await decodeBinaryNode(this.transport!.decrypt(frame));
        if (!node || typeof node.tag !== 'string') throw new MalformedFrameError('undecodable stanza');
        const { id, type } = node.attrs;
        const waiter = node.tag === 'iq' && id && (type === 'result' || type === 'error') ? this.resultWaiters.get(id) : undefined;
        if (waiter) waiter(node);
        else this.handler.onStanza(this, node);
        return;
      }
      default:
        return;
    }
  }

  private fail(error: unknown): void {
    if (this.phase === 'closed') return;
    this.handler.onError(this, error);
    this.terminate();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    for (const cb of [...this.closeWaiters]) cb();
    this.closeWaiters.clear();
    this.handler.onClosed(this);
  }
}
