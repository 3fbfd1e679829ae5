import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Endpoint } from "../health/endpoints.js";

/**
 * The console's Content-Security-Policy: its own script and style files only (no inline script or
 * style, no eval), calls to its own origin only, no framing, no plugins, no form posts elsewhere.
 */
export const consoleCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const files: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
};

/**
 * Where the built console lives: `dist/console` beside the compiled server (`dist/src/console/` →
 * `dist/console/`), or, when the server runs from sources, the repository's `dist/console`.
 */
export function consoleDir(): string | undefined {
  for (const rel of ["../../console/", "../../dist/console/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`) && existsSync(`${dir}app.js`)) return dir;
  }
  return undefined;
}

/**
 * The console's routes (`/console` → `/console/`, `/console/`, and its files), read once from
 * `dir`, each answered with the strict CSP, `nosniff`, no referrer and no framing. Empty when the
 * console has not been built.
 */
export function consoleEndpoints(dir: string | undefined = consoleDir()): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  if (!dir) return out;
  const serve = (name: string): Endpoint => {
    const body = readFileSync(`${dir}${name}`);
    return (req, res) => {
      res.statusCode = 200;
      res.setHeader("content-type", files[name]!);
      res.setHeader("content-length", body.length);
      res.setHeader("content-security-policy", consoleCsp);
      res.setHeader("x-content-type-options", "nosniff");
      res.setHeader("referrer-policy", "no-referrer");
      res.setHeader("x-frame-options", "DENY");
      res.setHeader("cross-origin-opener-policy", "same-origin");
      // The page always revalidates; the bundle changes only with a new build (served under the same name).
      res.setHeader("cache-control", "no-cache");
      if (req.method === "HEAD") res.end();
      else res.end(body);
    };
  };
  out.set("/console", (_req, res) => {
    res.statusCode = 308;
    res.setHeader("location", "/console/");
    res.end();
  });
  out.set("/console/", serve("index.html"));
  out.set("/console/index.html", serve("index.html"));
  for (const name of ["app.js", "console.css"]) out.set(`/console/${name}`, serve(name));
  return out;
}
