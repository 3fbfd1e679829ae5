/** Maximum payload a 24-bit length prefix can describe. */
export const MAX_FRAME_SIZE = 0xff_ffff;

/** Error raised for bytes that do not follow the WhatsApp framing rules. */
export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError';
}

/** Prefixes a payload with its 24-bit big-endian length. */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_SIZE) throw new MalformedFrameError(`frame too large: ${payload.length}`);
  const out = Buffer.allocUnsafe(3 + payload.length);
  out[0] = (payload.length >>> 16) & 0xff;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

/**
 * Splits the client byte stream into frames. The client's very first bytes carry an
 * intro: optional `'ED',0,1,len24,routingInfo`, then the 4-byte `WA` header (which the
 * Noise transcript hashes); everything after is `len24 ‖ payload` frames.
 */
export class ClientFrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private introHeader: Buffer | undefined;

  /** The `WA x y` header the client sent, once seen. */
  get header(): Buffer | undefined {
    return this.introHeader;
  }

  /** Feeds received bytes; returns every complete frame payload now available. */
  push(chunk: Uint8Array): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    if (!this.introHeader && !this.readIntro()) return [];
    const frames: Buffer[] = [];
    while (this.buffer.length >= 3) {
      const size = (this.buffer[0]! << 16) | (this.buffer[1]! << 8) | this.buffer[2]!;
      if (this.buffer.length < size + 3) break;
      frames.push(Buffer.from(this.buffer.subarray(3, size + 3)));
      this.buffer = this.buffer.subarray(size + 3);
    }
    return frames;
  }

  private readIntro(): boolean {
    let offset = 0;
    if (this.buffer[0] === 0x45 /* E */) {
      if (this.buffer.length < 7) return false;
      if (this.buffer[1] !== 0x44 /* D */) throw new MalformedFrameError('bad routing prefix');
      const len = (this.buffer[4]! << 16) | this.buffer.readUInt16BE(5);
      offset = 7 + len;
    }
    if (this.buffer.length < offset + 4) return false;
    const header = this.buffer.subarray(offset, offset + 4);
    if (header[0] !== 0x57 /* W */ || header[1] !== 0x41 /* A */) {
      throw new MalformedFrameError('missing WA intro header');
    }
    this.introHeader = Buffer.from(header);
    this.buffer = this.buffer.subarray(offset + 4);
    return true;
  }
}
