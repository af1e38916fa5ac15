import { DerError, derChildren, expectTag, integerToFixed, readDerDocument, TAG } from './der';
import { spkiCurve, type EcCurve } from './x509';

export type SignatureErrorCode = 'bad-pem' | 'bad-base64' | 'unsupported-key' | 'bad-signature-encoding';

export class SignatureError extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

const enc = new TextEncoder();

/** Strict base64 (standard or URL-safe alphabet, optional padding) → bytes; whitespace is tolerated. */
export function decodeBase64(text: string, what: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s) || (s.replace(/=+$/, '').length % 4) === 1) {
    throw new SignatureError('bad-base64', `${what} is not base64`);
  }
  const std = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The DER inside a PEM block with the given label (`PUBLIC KEY` = SubjectPublicKeyInfo, `CERTIFICATE`). */
export function pemToDer(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m) throw new SignatureError('bad-pem', `expected a PEM block "-----BEGIN ${label}-----"`);
  return decodeBase64(m[1], `the PEM ${label} block`);
}

/** The PEM that Python's `cryptography` writes for a SubjectPublicKeyInfo: 64-column base64, LF line ends. */
export function canonicalPem(spki: Uint8Array, label = 'PUBLIC KEY'): string {
  const b64 = encodeBase64(spki);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? enc.encode(bytes) : bytes;
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * OpenSSF model signing's key hint (THREATS.md §9): SHA-256 of the public key PEM. Computed over the
 * canonical PEM re-encoded from the DER, so a user's copy with other line breaks gives the same hint.
 */
export function keyHint(spki: Uint8Array): Promise<string> {
  return sha256Hex(canonicalPem(spki));
}

/** DSSE pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>` (lengths in ASCII decimal bytes). */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

const CURVE_BYTES: Record<EcCurve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
/** model_signing pairs each curve with the hash of matching strength. */
export const CURVE_HASH: Record<EcCurve, 'SHA-256' | 'SHA-384' | 'SHA-512'> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };

/**
 * ECDSA signatures come as DER `SEQUENCE { r INTEGER, s INTEGER }` (what OpenSSL and Python write);
 * WebCrypto wants IEEE P1363 `r‖s`, each left-padded to the curve size.
 */
export function ecdsaDerToRaw(sig: Uint8Array, curve: EcCurve): Uint8Array {
  const size = CURVE_BYTES[curve];
  try {
    const seq = expectTag(readDerDocument(sig), TAG.SEQUENCE, 'ECDSA signature');
    const parts = derChildren(seq);
    if (parts.length !== 2) throw new DerError('unexpected', seq.start, `ECDSA signature has ${parts.length} integers, expected 2`);
    const out = new Uint8Array(size * 2);
    out.set(integerToFixed(parts[0], size), 0);
    out.set(integerToFixed(parts[1], size), size);
    return out;
  } catch (e) {
    if (e instanceof DerError) throw new SignatureError('bad-signature-encoding', `the signature is not a DER ECDSA signature for ${curve}: ${e.message}`);
    throw e;
  }
}

/**
 * Verifies an ECDSA signature over `message` with an EC SubjectPublicKeyInfo. Accepts DER signatures and,
 * when the length is exactly 2×curve size, raw r‖s. Returns false on a wrong signature; throws
 * SignatureError when the key or signature cannot be used at all.
 */
export async function verifyEcdsa(spki: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  let curve: EcCurve | null;
  try {
    curve = spkiCurve(spki);
  } catch (e) {
    throw new SignatureError('unsupported-key', `the public key is not a readable SubjectPublicKeyInfo: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!curve) throw new SignatureError('unsupported-key', 'only ECDSA keys on P-256, P-384 and P-521 are supported');
  const rawSize = CURVE_BYTES[curve] * 2;
  let raw: Uint8Array;
  if (signature.length === rawSize && signature[0] !== 0x30) raw = signature;
  else {
    try {
      raw = ecdsaDerToRaw(signature, curve);
    } catch (e) {
      // a raw r‖s whose r happens to start with 0x30
      if (signature.length !== rawSize) throw e;
      raw = signature;
    }
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', spki as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: curve }, false, ['verify']);
  } catch (e) {
    throw new SignatureError('unsupported-key', `the public key was rejected: ${e instanceof Error ? e.message : String(e)}`);
  }
  return crypto.subtle.verify({ name: 'ECDSA', hash: CURVE_HASH[curve] }, key, raw as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
}
