import type { Message } from "@bufbuild/protobuf";

/**
 * An alternative body for one RPC's REST response, chosen by `Accept`
 * (e.g. a QR code as `image/png`). JSON stays the default.
 */
export interface MediaRenderer {
  /** `package.Service/Method`. */
  method: string;
  /** The media type served when the client accepts it, e.g. `image/png`. */
  contentType: string;
  /** Renders the response message. */
  render(message: Message): Promise<Uint8Array> | Uint8Array;
}

/** A PNG of a QR code holding `text` (the QR encoder loads on the first one). */
export async function qrPng(text: string): Promise<Uint8Array> {
  const { default: QRCode } = await import("qrcode");
  return QRCode.toBuffer(text, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 6 });
}

/** `GET /api/v1/sessions/{session}/qr` with `Accept: image/png`: the QR payload as a PNG (the contract). */
export const qrCodePngRenderer: MediaRenderer = {
  method: "wagateway.v1.SessionService/GetQrCode",
  contentType: "image/png",
  render: (m) => qrPng((m as unknown as { qr: string }).qr),
};

/** True when an `Accept` header names `contentType` explicitly (wildcards keep JSON). */
export function acceptsMedia(accept: string | undefined, contentType: string): boolean {
  if (!accept) return false;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.trim().split(";");
    if (type?.trim().toLowerCase() !== contentType) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
