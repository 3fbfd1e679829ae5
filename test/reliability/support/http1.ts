import http from "node:http";

/** An HTTP/1.1 answer (status 0 when the connection closed without one). */
export interface H1Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** True when the time ran out before the answer ended (the request was aborted). */
  timedOut: boolean;
}

/** One HTTP/1.1 request on a fresh connection (from `localAddress`, e.g. a loopback alias, when given), aborted after `timeoutMs`. */
export function h1Request(baseUrl: string, method: string, path: string, headers: Record<string, string>, body: Buffer | string | undefined, timeoutMs = 10_000, localAddress?: string): Promise<H1Answer> {
  return new Promise((resolve) => {
    const h = body === undefined ? headers : { "content-length": String(Buffer.byteLength(body)), ...headers };
    const chunks: Buffer[] = [];
    let status = 0;
    let resHeaders: http.IncomingHttpHeaders = {};
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ status, headers: resHeaders, body: Buffer.concat(chunks), timedOut });
    };
    const req = http.request(`${baseUrl}${path}`, { method, headers: h, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      status = res.statusCode ?? 0;
      resHeaders = res.headers;
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => finish(false));
      res.on("error", () => finish(false));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(true);
    }, timeoutMs);
    req.on("error", () => finish(false));
    req.end(body);
  });
}
