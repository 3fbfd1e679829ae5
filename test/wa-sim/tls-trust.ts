import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

/** A self-signed certificate for 127.0.0.1 / localhost, generated at test time with `openssl`. */
export interface SelfSignedCert {
  readonly cert: string;
  readonly key: string;
  /** The certificate written to a temp file (for `NODE_EXTRA_CA_CERTS` of child processes). */
  readonly certFile: string;
  /** Removes the temp directory. */
  dispose(): void;
}

/** Generates a P-256 self-signed certificate (1 day) for `IP:127.0.0.1, DNS:localhost`. */
export function generateSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sim-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=wa-sim media host', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ],
    { stdio: 'pipe' },
  );
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  rmSync(keyFile);
  writeFileSync(certFile, cert);
  return { cert, key, certFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The subset of undici's Dispatcher that `fetch(url, { dispatcher })` needs. */
export interface FetchDispatcher {
  dispatch(...args: unknown[]): unknown;
  close(): Promise<void>;
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
type DispatcherCtor = new (opts: { connect: { ca: string[] } }) => FetchDispatcher;

/** Node's bundled undici `Agent` class (no extra package): taken from the global dispatcher. */
async function bundledAgentClass(): Promise<DispatcherCtor> {
  const g = globalThis as Record<symbol, unknown>;
  if (!g[GLOBAL_DISPATCHER]) await fetch('data:,wa-sim').catch(() => undefined);
  const current = g[GLOBAL_DISPATCHER] as { constructor: DispatcherCtor } | undefined;
  if (!current) throw new Error('wa-sim: no global undici dispatcher to copy');
  return current.constructor;
}

/** An undici Agent for global `fetch` (e.g. Baileys' `downloadMediaMessage(…, { dispatcher })`) trusting `ca` plus the public roots. */
export async function fetchDispatcherTrusting(ca: string): Promise<FetchDispatcher> {
  const Agent = await bundledAgentClass();
  return new Agent({ connect: { ca: [...rootCertificates, ca] } });
}

/** An `https.Agent` (e.g. Baileys' `fetchAgent`, used for uploads) trusting `ca` plus the public roots. */
export function httpsAgentTrusting(ca: string): https.Agent {
  return new https.Agent({ ca: [...rootCertificates, ca], keepAlive: false });
}

/**
 * Makes this whole process trust `ca`: `https.globalAgent` (Baileys' uploads without a `fetchAgent`)
 * and the global undici dispatcher (every `fetch`, so Baileys' downloads). Returns an undo function.
 */
export async function trustGlobally(ca: string): Promise<() => void> {
  const g = globalThis as Record<symbol, unknown>;
  const dispatcher = await fetchDispatcherTrusting(ca);
  const previousDispatcher = g[GLOBAL_DISPATCHER];
  const previousCa = https.globalAgent.options.ca;
  g[GLOBAL_DISPATCHER] = dispatcher;
  https.globalAgent.options.ca = [...rootCertificates, ca];
  return () => {
    g[GLOBAL_DISPATCHER] = previousDispatcher;
    https.globalAgent.options.ca = previousCa;
    void dispatcher.close();
  };
}
