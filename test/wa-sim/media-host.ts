import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { proto } from '@whiskeysockets/baileys';
import { decryptMedia, encryptMedia, type MediaKind, type UploadedMedia } from './media-crypto.js';
import { fetchDispatcherTrusting, generateSelfSignedCert, httpsAgentTrusting, trustGlobally, type FetchDispatcher, type SelfSignedCert } from './tls-trust.js';
import type https from 'node:https';

/** One upload Baileys (or a contact) made: the encrypted blob as stored. */
export interface MediaUpload {
  /** `image`, `video`, `audio`, `document`, … as in the upload path `/mms/<type>/…`. */
  readonly type: string;
  readonly directPath: string;
  readonly url: string;
  readonly blob: Buffer;
  /** Base64url fileEncSha256 the uploader named in the path. */
  readonly token: string;
}

/** The media node of a `proto.Message` (image/video/audio/document/sticker). */
type MediaNode = proto.Message.IImageMessage & { mediaKey?: Uint8Array | null; directPath?: string | null };

const MESSAGE_FIELD: Record<MediaKind, keyof proto.IMessage> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

/** A local HTTPS stand-in for WhatsApp's media servers (`media_conn` points Baileys here). */
export class MediaHost {
  /** `127.0.0.1:PORT`, the `hostname` given in `media_conn`. */
  readonly hostname: string;
  /** `https://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Auth token handed out in `media_conn` and required on uploads. */
  readonly auth = randomBytes(12).toString('base64url');
  private readonly blobs = new Map<string, { blob: Buffer; contentType: string }>();
  private readonly uploadList: MediaUpload[] = [];
  private failingUploads = 0;

  private constructor(
    private readonly server: Server,
    private readonly tls: SelfSignedCert,
  ) {
    this.hostname = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.origin = `https://${this.hostname}`;
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', this.origin);
      if (req.method === 'POST' && url.pathname.startsWith('/mms/')) {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const [, , type = '', token = ''] = url.pathname.split('/');
          const blob = Buffer.concat(chunks);
          if (this.failingUploads > 0) {
            this.failingUploads -= 1;
            res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"wa-sim: upload failed on purpose"}');
            return;
          }
          if (url.searchParams.get('auth') !== this.auth) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad auth"}');
            return;
          }
          if (createHash('sha256').update(blob).digest('base64url') !== token.replace(/=+$/, '')) {
            res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"fileEncSha256 mismatch"}');
            return;
          }
          const directPath = this.store(blob, 'application/octet-stream');
          this.uploadList.push({ type, directPath, url: this.origin + directPath, blob, token });
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: this.origin + directPath, direct_path: directPath }));
        });
        return;
      }
      const item = req.method === 'GET' ? this.blobs.get(url.pathname) : undefined;
      if (!item) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': item.contentType, 'content-length': item.blob.length }).end(item.blob);
    });
  }

  /** Starts the host on 127.0.0.1 with a fresh self-signed certificate. */
  static async start(): Promise<MediaHost> {
    const tls = generateSelfSignedCert();
    const server = createServer({ cert: tls.cert, key: tls.key });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new MediaHost(server, tls);
  }

  /** The certificate (PEM) clients must trust. */
  get ca(): string {
    return this.tls.cert;
  }

  /** Path of the certificate file, for `NODE_EXTRA_CA_CERTS` of a child process. */
  get caFile(): string {
    return this.tls.certFile;
  }

  /** An `https.Agent` trusting the host: pass as Baileys' `fetchAgent` (uploads). */
  httpsAgent(): https.Agent {
    return httpsAgentTrusting(this.ca);
  }

  /** An undici dispatcher trusting the host: `downloadMediaMessage(msg, 'buffer', { dispatcher })` or `fetch(url, { dispatcher })`. */
  dispatcher(): Promise<FetchDispatcher> {
    return fetchDispatcherTrusting(this.ca);
  }

  /** Makes the whole process trust the host (https.globalAgent + global fetch dispatcher); returns undo. */
  trustGlobally(): Promise<() => void> {
    return trustGlobally(this.ca);
  }

  /** Every upload received on `/mms/…`, in order. */
  uploads(): MediaUpload[] {
    return [...this.uploadList];
  }

  /** Makes the next `times` uploads answer 500. */
  failUploads(times = 1): void {
    this.failingUploads = times;
  }

  /** Removes a stored blob (a later GET answers 404, as expired media). */
  expire(directPath: string): boolean {
    return this.blobs.delete(directPath.split('?')[0]!);
  }

  /** Serves plain `bytes` at a fresh path; returns its https URL (for "send media from a URL" tests). */
  publish(bytes: Uint8Array, contentType = 'application/octet-stream', name = 'file'): string {
    const path = `/pub/${randomBytes(8).toString('hex')}/${encodeURIComponent(name)}`;
    this.blobs.set(path, { blob: Buffer.from(bytes), contentType });
    return this.origin + path;
  }

  /** Encrypts `plain` with a fresh media key and stores it as if a contact's phone uploaded it. */
  upload(plain: Uint8Array, kind: MediaKind): UploadedMedia {
    const enc = encryptMedia(plain, kind);
    const directPath = this.store(enc.blob, 'application/octet-stream');
    return {
      url: this.origin + directPath,
      directPath,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    };
  }

  /**
   * Fetches (from this host's store) and decrypts the media of a decrypted message: checks the MAC and the
   * node's `fileEncSha256`/`fileSha256`. `kind` defaults to the message's media field.
   */
  download(message: proto.IMessage, kind?: MediaKind): Buffer {
    const found = (Object.keys(MESSAGE_FIELD) as MediaKind[]).find(k => (kind ? k === kind : !!message[MESSAGE_FIELD[k]]));
    const node = found ? (message[MESSAGE_FIELD[found]] as MediaNode | null | undefined) : undefined;
    if (!found || !node?.mediaKey || !node.directPath) throw new Error('wa-sim: message carries no downloadable media');
    const item = this.blobs.get(node.directPath.split('?')[0]!);
    if (!item) throw new Error(`wa-sim: no blob stored at ${node.directPath}`);
    if (node.fileEncSha256 && !createHash('sha256').update(item.blob).digest().equals(Buffer.from(node.fileEncSha256))) {
      throw new Error('wa-sim: fileEncSha256 does not match the stored blob');
    }
    const plain = decryptMedia(item.blob, node.mediaKey, found);
    if (node.fileSha256 && !createHash('sha256').update(plain).digest().equals(Buffer.from(node.fileSha256))) {
      throw new Error('wa-sim: fileSha256 does not match the decrypted bytes');
    }
    return plain;
  }

  /** Stops the server and removes the certificate files. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
    this.tls.dispose();
  }

  private store(blob: Buffer, contentType: string): string {
    const path = `/v/t62.wa-sim/${createHash('sha256').update(blob).digest('hex')}.enc`;
    this.blobs.set(path, { blob, contentType });
    return path;
  }
}
