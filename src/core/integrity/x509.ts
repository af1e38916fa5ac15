import { DER_MAX_BYTES } from '../io/limits';
import { checkDepth, decodeOid, decodeString, decodeTime, DerError, derChildren, expectTag, readDerDocument, TAG, toHex, type DerNode } from './der';

/** OIDs of the extensions Sigstore's Fulcio CA writes into a signing certificate (fulcio docs/oid-info.md). */
export const FULCIO_OIDS: Record<string, string> = {
  '1.3.6.1.4.1.57264.1.1': 'issuer (v1)',
  '1.3.6.1.4.1.57264.1.2': 'github workflow trigger',
  '1.3.6.1.4.1.57264.1.3': 'github workflow sha',
  '1.3.6.1.4.1.57264.1.4': 'github workflow name',
  '1.3.6.1.4.1.57264.1.5': 'github workflow repository',
  '1.3.6.1.4.1.57264.1.6': 'github workflow ref',
  '1.3.6.1.4.1.57264.1.8': 'issuer',
  '1.3.6.1.4.1.57264.1.9': 'build signer uri',
  '1.3.6.1.4.1.57264.1.12': 'source repository uri',
  '1.3.6.1.4.1.57264.1.14': 'source repository ref',
};

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const OID_SAN = '2.5.29.17';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';
const CURVES: Record<string, EcCurve> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

export interface CertificateInfo {
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** subjectAltName entries (a Fulcio certificate carries exactly one: the signer's email or URI) */
  san: { emails: string[]; uris: string[]; dns: string[] };
  /** Fulcio extensions present, by name (values decoded as text) */
  fulcio: Record<string, string>;
  /** the SubjectPublicKeyInfo DER, for WebCrypto `importKey('spki')` */
  spki: Uint8Array;
  /** the curve of an EC key, or null for other key types */
  curve: EcCurve | null;
}

/** The named curve of an EC SubjectPublicKeyInfo, or null when the key is not EC (or the curve unknown). */
export function spkiCurve(spki: Uint8Array): EcCurve | null {
  const seq = expectTag(readDerDocument(spki), TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const [alg] = derChildren(seq);
  const [algOid, params] = derChildren(expectTag(alg, TAG.SEQUENCE, 'algorithm'));
  if (decodeOid(algOid) !== OID_EC_PUBLIC_KEY || !params || params.tag !== TAG.OID) return null;
  return CURVES[decodeOid(params)] ?? null;
}

function decodeName(node: DerNode): string {
  const parts: string[] = [];
  for (const rdn of derChildren(expectTag(node, TAG.SEQUENCE, 'name'))) {
    for (const atv of derChildren(expectTag(rdn, TAG.SET, 'relative distinguished name'))) {
      const [type, value] = derChildren(expectTag(atv, TAG.SEQUENCE, 'attribute'));
      const oid = decodeOid(type);
      let text: string;
      try {
        text = decodeString(value);
      } catch {
        text = `#${toHex(value.content)}`;
      }
      parts.push(`${NAME_ATTRS[oid] ?? oid}=${text}`);
    }
  }
  return parts.join(', ');
}

/**
 * Fulcio's v1 extensions (…57264.1.1–.6) hold the raw string as the extension value; v2 ones (.8 on) hold
 * a DER UTF8String. Decode either, and never fail on a value we cannot read: show its hex.
 */
function decodeFulcioValue(oid: string, value: Uint8Array): string {
  const v1 = /\.57264\.1\.[1-6]$/.test(oid);
  if (!v1) {
    try {
      const n = readDerDocument(value);
      return decodeString(n);
    } catch {
      /* fall through to raw */
    }
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(value);
  return /^[\x20-\x7e]*$/.test(text) ? text : `#${toHex(value)}`;
}

/**
 * Reads what a person needs from an X.509 certificate (RFC 5280 §4.1): names, validity, subjectAltName,
 * Fulcio identity extensions and the public key. It does not verify anything: see `model-sig.ts` for what
 * is and is not checked offline.
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  if (der.length > DER_MAX_BYTES) throw new DerError('bad-length', 0, `certificate of ${der.length} bytes exceeds ${DER_MAX_BYTES}`);
  const cert = expectTag(readDerDocument(der), TAG.SEQUENCE, 'certificate');
  checkDepth(cert);
  const [tbs] = derChildren(cert);
  const fields = derChildren(expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'));
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const need = (what: string): DerNode => {
    const n = fields[i++];
    if (!n) throw new DerError('truncated', tbs.end, `tbsCertificate ends before its ${what}`);
    return n;
  };
  const serial = expectTag(need('serial number'), TAG.INTEGER, 'serial number');
  need('signature algorithm');
  const issuer = decodeName(need('issuer'));
  const validity = derChildren(expectTag(need('validity'), TAG.SEQUENCE, 'validity'));
  if (validity.length !== 2) throw new DerError('unexpected', tbs.start, 'validity must hold two times');
  const subject = decodeName(need('subject'));
  const spkiNode = expectTag(need('subjectPublicKeyInfo'), TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const spki = der.slice(spkiNode.start, spkiNode.end);
  const san = { emails: [] as string[], uris: [] as string[], dns: [] as string[] };
  const fulcio: Record<string, string> = {};
  for (; i < fields.length; i++) {
    if (fields[i].tag !== 0xa3) continue; // [3] EXPLICIT extensions
    const [exts] = derChildren(fields[i]);
    for (const ext of derChildren(expectTag(exts, TAG.SEQUENCE, 'extensions'))) {
      const parts = derChildren(expectTag(ext, TAG.SEQUENCE, 'extension'));
      const oid = decodeOid(parts[0]);
      const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extension value').content;
      if (oid === OID_SAN) {
        for (const gn of derChildren(expectTag(readDerDocument(value), TAG.SEQUENCE, 'subjectAltName'))) {
          if (gn.tag === 0x81) san.emails.push(decodeString(gn));
          else if (gn.tag === 0x86) san.uris.push(decodeString(gn));
          else if (gn.tag === 0x82) san.dns.push(decodeString(gn));
        }
      } else if (FULCIO_OIDS[oid]) {
        fulcio[FULCIO_OIDS[oid]] = decodeFulcioValue(oid, value);
      }
    }
  }
  let curve: EcCurve | null = null;
  try {
    curve = spkiCurve(spki);
  } catch {
    curve = null;
  }
  return {
    serialNumber: toHex(serial.content),
    subject,
    issuer,
    notBefore: decodeTime(validity[0]),
    notAfter: decodeTime(validity[1]),
    san,
    fulcio,
    spki,
    curve,
  };
}

/** Reads the certificate as DER, or reports why not, for callers that must go on with a finding. */
export function tryParseCertificate(der: Uint8Array): CertificateInfo | DerError {
  try {
    return parseCertificate(der);
  } catch (e) {
    if (e instanceof DerError) return e;
    throw e;
  }
}

