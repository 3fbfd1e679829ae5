import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT, type CryptoKey } from "jose";

/** A real JWKS endpoint on loopback plus a signer for its keys. */
export interface JwksServer {
  url: string;
  /** Signs a JWT with the served key (ES256, kid `k1`). */
  sign(claims: Record<string, unknown>, opts?: { expiresIn?: string | number; notBefore?: string | number; issuer?: string; audience?: string; kid?: string }): Promise<string>;
  /** Signs with a key that the JWKS does not serve (kid `rogue`). */
  signWithUnknownKey(claims: Record<string, unknown>): Promise<string>;
  /** The served public key, as a JWK. */
  publicJwk: JWK;
  /** Number of JWKS fetches served. */
  fetches(): number;
  close(): Promise<void>;
}

/** Starts a JWKS server for issuer `iss` and audience `aud`. */
export async function startJwksServer(iss: string, aud: string): Promise<JwksServer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const rogue = await generateKeyPair("ES256");
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;

  const signWith = async (key: CryptoKey, kid: string, claims: Record<string, unknown>, opts: Parameters<JwksServer["sign"]>[1] = {}) => {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: opts.kid ?? kid })
      .setIssuedAt()
      .setIssuer(opts.issuer ?? iss)
      .setAudience(opts.audience ?? aud)
      .setExpirationTime(opts.expiresIn ?? "5m");
    if (opts.notBefore !== undefined) jwt = jwt.setNotBefore(opts.notBefore);
    return jwt.sign(key);
  };
  return {
    url,
    publicJwk,
    sign: (claims, opts) => signWith(privateKey, "k1", claims, opts),
    signWithUnknownKey: (claims) => signWith(rogue.privateKey, "rogue", claims),
    fetches: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
