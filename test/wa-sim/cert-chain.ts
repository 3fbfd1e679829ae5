import { proto } from '@whiskeysockets/baileys';
import { generateKeyPair, sign, verify, type KeyPair } from './curve.js';

/** The simulator's server identity: root CA, intermediate, and the Noise static key (leaf). */
export interface ServerIdentity {
  /** Root public key; the client must trust it via `WA_CERT_DETAILS.PUBLIC_KEY`. */
  readonly rootPublicKey: Buffer;
  /** Noise static key pair the server proves in ServerHello. */
  readonly staticKey: KeyPair;
  /** Encoded `CertChain{leaf, intermediate}` sent (encrypted) as the ServerHello payload. */
  readonly certChain: Buffer;
}

const ROOT_SERIAL = 0;
const INTERMEDIATE_SERIAL = 1;
const LEAF_SERIAL = 2;
const TEN_YEARS_S = 10 * 365 * 24 * 3600;

function certificate(details: proto.CertChain.NoiseCertificate.IDetails, signer: KeyPair): proto.CertChain.INoiseCertificate {
  const encoded = proto.CertChain.NoiseCertificate.Details.encode(details).finish();
  return { details: encoded, signature: sign(signer.private, encoded) };
}

/**
 * Creates a fresh root → intermediate → leaf chain. `issuerSerial` of the intermediate is
 * set explicitly to 0 (the root serial): the client rejects the chain when it is absent.
 */
export function createServerIdentity(): ServerIdentity {
  const root = generateKeyPair();
  const intermediate = generateKeyPair();
  const staticKey = generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const validity = { notBefore: now - 3600, notAfter: now + TEN_YEARS_S };
  const chain = proto.CertChain.encode({
    intermediate: certificate(
      { serial: INTERMEDIATE_SERIAL, issuerSerial: ROOT_SERIAL, key: intermediate.public, ...validity },
      root,
    ),
    leaf: certificate({ serial: LEAF_SERIAL, issuerSerial: INTERMEDIATE_SERIAL, key: staticKey.public, ...validity }, intermediate),
  }).finish();
  return { rootPublicKey: root.public, staticKey, certChain: Buffer.from(chain) };
}

/** Checks a chain the way a strict client should (used by the simulator's own self-check). */
export function verifyServerIdentity(identity: ServerIdentity): boolean {
  const chain = proto.CertChain.decode(identity.certChain);
  const inter = chain.intermediate;
  const leaf = chain.leaf;
  if (!inter?.details || !inter.signature || !leaf?.details || !leaf.signature) return false;
  const interDetails = proto.CertChain.NoiseCertificate.Details.decode(inter.details);
  const leafDetails = proto.CertChain.NoiseCertificate.Details.decode(leaf.details);
  return (
    verify(identity.rootPublicKey, inter.details, inter.signature) &&
    !!interDetails.key &&
    verify(interDetails.key, leaf.details, leaf.signature) &&
    Buffer.from(leafDetails.key ?? []).equals(identity.staticKey.public)
  );
}
