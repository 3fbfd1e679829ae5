import http2 from "node:http2";
import type { GrpcRequestSpec } from "./h2load-run.js";

/** Sends `spec` once over h2c and returns the `grpc-status` trailer ("0" = OK) and the response size. */
export function grpcOnce(spec: GrpcRequestSpec): Promise<{ grpcStatus: string | undefined; message: string | undefined; bytes: number }> {
  const u = new URL(spec.url);
  return new Promise((resolve, reject) => {
    const session = http2.connect(u.origin);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": u.pathname, ...spec.headers });
    let bytes = 0;
    let grpcStatus: string | undefined;
    let message: string | undefined;
    stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    stream.on("trailers", (t) => {
      grpcStatus = String(t["grpc-status"]);
      message = t["grpc-message"] === undefined ? undefined : decodeURIComponent(String(t["grpc-message"]));
    });
    stream.on("data", (d: Buffer) => (bytes += d.length));
    stream.on("end", () => {
      session.close();
      resolve({ grpcStatus, message, bytes });
    });
    stream.on("error", reject);
    stream.end(spec.body);
  });
}
