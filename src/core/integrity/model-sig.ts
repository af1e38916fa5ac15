import { readExact } from '../io/byte-source';
import { isParseError } from '../io/errors';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../io/json';
import { MODEL_SIG_MAX_BYTES, MODEL_SIG_MAX_RESOURCES } from '../io/limits';
import { basename } from '../io/paths';
import type { Finding } from '../report/finding';
import { compareManifest, type LocalFile } from './compare-manifest';
import { decodeBase64, keyHint, pae, pemToDer, SignatureError, verifyEcdsa } from './dsse';
import type { IntegrityCheck, IntegrityOutcome } from './integrity-check';
import { parseCertificate, spkiCurve, type CertificateInfo, type EcCurve } from './x509';

/**
 * OpenSSF model signing v1 (`model.sig`, THREATS.md §9): a Sigstore bundle whose DSSE envelope carries an
 * in-toto statement. `predicate.resources[]` lists every file of the model folder with its SHA-256; the
 * statement's subject digest is SHA-256 over the raw resource digests concatenated in name order.
 */

export const MODEL_SIG_FILE = 'model.sig';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);
const PREDICATE_TYPES = new Set(['https://model_signing/signature/v1.0']);

export type ModelSigErrorCode = 'too-large' | 'bad-json' | 'bad-bundle' | 'bad-payload' | 'bad-statement' | 'unsupported';

/** A model.sig that cannot be read as a model-signing bundle. `path` names the JSON field at fault. */
export class ModelSigError extends Error {
  constructor(
    readonly code: ModelSigErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`model.sig: ${message}`);
    this.name = 'ModelSigError';
  }
}

export interface ModelSigResource {
  name: string;
  algorithm: string;
  digest: string;
}

export interface ModelSigStatement {
  statementType: string;
  predicateType: string;
  subjectName: string;
  subjectDigest: string;
  /** `files` (one digest per file) or `shards` (digests of byte ranges) */
  method: string;
  hashType: string;
  ignorePaths: string[];
  resources: ModelSigResource[];
}

export type VerificationMaterial = { kind: 'public-key'; hint: string } | { kind: 'certificate'; certificates: Uint8Array[] };

export interface ModelSigBundle {
  mediaType: string;
  material: VerificationMaterial;
  /** transparency-log entries carried by the bundle (not verified offline) */
  tlogEntries: number;
  payloadType: string;
  payload: Uint8Array;
  signatures: { sig: Uint8Array; keyid: string }[];
  statement: ModelSigStatement;
}

type Obj = { [key: string]: JsonValue };

function field(o: Obj, key: string, path: string): JsonValue {
  if (!Object.prototype.hasOwnProperty.call(o, key)) throw new ModelSigError('bad-bundle', `${path}.${key}`, `${path}.${key} is missing`);
  return o[key];
}
function str(o: Obj, key: string, path: string): string {
  const v = field(o, key, path);
  if (typeof v !== 'string') throw new ModelSigError('bad-bundle', `${path}.${key}`, `${path}.${key} must be a string, found ${v === null ? 'null' : typeof v}`);
  return v;
}
function obj(v: JsonValue | undefined, path: string, code: ModelSigErrorCode = 'bad-bundle'): Obj {
  if (!isJsonObject(v)) throw new ModelSigError(code, path, `${path} must be an object`);
  return v;
}
function arr(v: JsonValue | undefined, path: string, code: ModelSigErrorCode = 'bad-bundle'): JsonValue[] {
  if (!Array.isArray(v)) throw new ModelSigError(code, path, `${path} must be an array`);
  return v;
}
function b64(text: string, path: string): Uint8Array {
  try {
    return decodeBase64(text, path);
  } catch {
    throw new ModelSigError('bad-bundle', path, `${path} is not base64`);
  }
}

function parseJson(text: string, what: string, code: ModelSigErrorCode): Obj {
  let value: JsonValue;
  try {
    const r = parseJsonStrict(text, 'model.sig');
    // A key given twice is read differently by different JSON parsers: never accept it in signed data.
    if (r.duplicates.length) throw new ModelSigError(code, r.duplicates[0].key, `${what} repeats the key "${r.duplicates[0].key}" (at character ${r.duplicates[0].offset})`);
    value = r.value;
  } catch (e) {
    if (e instanceof ModelSigError) throw e;
    if (isParseError(e)) throw new ModelSigError(code, '', `${what} is not JSON: ${e.message}`);
    throw e;
  }
  return obj(value, what, code);
}

function parseStatement(payload: Uint8Array): ModelSigStatement {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw new ModelSigError('bad-payload', 'dsseEnvelope.payload', 'the signed payload is not UTF-8');
  }
  const st = parseJson(text, 'the signed statement', 'bad-payload');
  const p = 'statement';
  const statementType = str(st, '_type', p);
  if (!STATEMENT_TYPES.has(statementType)) throw new ModelSigError('unsupported', `${p}._type`, `statement type "${statementType}" is not an in-toto statement`);
  const predicateType = str(st, 'predicateType', p);
  if (!PREDICATE_TYPES.has(predicateType)) throw new ModelSigError('unsupported', `${p}.predicateType`, `predicate type "${predicateType}" is not OpenSSF model signing v1.0`);
  const subjects = arr(field(st, 'subject', p), `${p}.subject`, 'bad-statement');
  if (subjects.length !== 1) throw new ModelSigError('bad-statement', `${p}.subject`, `expected one subject, found ${subjects.length}`);
  const subject = obj(subjects[0], `${p}.subject[0]`, 'bad-statement');
  const digest = obj(field(subject, 'digest', `${p}.subject[0]`), `${p}.subject[0].digest`, 'bad-statement');
  const subjectDigest = str(digest, 'sha256', `${p}.subject[0].digest`).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(subjectDigest)) throw new ModelSigError('bad-statement', `${p}.subject[0].digest.sha256`, 'the subject digest is not 64 hex digits');
  const predicate = obj(field(st, 'predicate', p), `${p}.predicate`, 'bad-statement');
  const ser = obj(field(predicate, 'serialization', `${p}.predicate`), `${p}.predicate.serialization`, 'bad-statement');
  const method = str(ser, 'method', `${p}.predicate.serialization`);
  const hashType = typeof ser.hash_type === 'string' ? ser.hash_type : 'sha256';
  const ignorePaths = Array.isArray(ser.ignore_paths) ? ser.ignore_paths.filter((x): x is string => typeof x === 'string') : [];
  const list = arr(field(predicate, 'resources', `${p}.predicate`), `${p}.predicate.resources`, 'bad-statement');
  if (list.length > MODEL_SIG_MAX_RESOURCES) throw new ModelSigError('too-large', `${p}.predicate.resources`, `${list.length} resources exceed the limit of ${MODEL_SIG_MAX_RESOURCES}`);
  const names = new Set<string>();
  const resources = list.map((r, i): ModelSigResource => {
    const rp = `${p}.predicate.resources[${i}]`;
    const o = obj(r, rp, 'bad-statement');
    const name = str(o, 'name', rp);
    const algorithm = typeof o.algorithm === 'string' ? o.algorithm : hashType;
    const d = str(o, 'digest', rp).toLowerCase();
    if (algorithm !== 'sha256') throw new ModelSigError('unsupported', `${rp}.algorithm`, `resource "${name}" is hashed with ${algorithm}; only sha256 can be compared with the files' SHA-256`);
    if (!/^[0-9a-f]{64}$/.test(d)) throw new ModelSigError('bad-statement', `${rp}.digest`, `resource "${name}" has a digest that is not 64 hex digits`);
    if (names.has(name)) throw new ModelSigError('bad-statement', `${rp}.name`, `resource "${name}" is listed twice`);
    names.add(name);
    return { name, algorithm, digest: d };
  });
  const subjectName = typeof subject.name === 'string' ? subject.name : '';
  return { statementType, predicateType, subjectName, subjectDigest, method, hashType, ignorePaths, resources };
}

/** Parses a model.sig bundle and its signed statement. Throws ModelSigError naming the field at fault. */
export function parseModelSig(text: string): ModelSigBundle {
  if (text.length > MODEL_SIG_MAX_BYTES) throw new ModelSigError('too-large', '', `${text.length} characters exceed the ${MODEL_SIG_MAX_BYTES}-byte limit`);
  const b = parseJson(text, 'the bundle', 'bad-json');
  const mediaType = str(b, 'mediaType', 'bundle');
  if (!mediaType.startsWith('application/vnd.dev.sigstore.bundle')) throw new ModelSigError('unsupported', 'bundle.mediaType', `media type "${mediaType}" is not a Sigstore bundle`);
  const vm = obj(field(b, 'verificationMaterial', 'bundle'), 'bundle.verificationMaterial');
  let material: VerificationMaterial;
  if (isJsonObject(vm.publicKey)) {
    material = { kind: 'public-key', hint: typeof vm.publicKey.hint === 'string' ? vm.publicKey.hint : '' };
  } else if (isJsonObject(vm.certificate)) {
    material = { kind: 'certificate', certificates: [b64(str(vm.certificate, 'rawBytes', 'bundle.verificationMaterial.certificate'), 'bundle.verificationMaterial.certificate.rawBytes')] };
  } else if (isJsonObject(vm.x509CertificateChain)) {
    const certs = arr(field(vm.x509CertificateChain, 'certificates', 'bundle.verificationMaterial.x509CertificateChain'), 'bundle.verificationMaterial.x509CertificateChain.certificates');
    if (certs.length === 0) throw new ModelSigError('bad-bundle', 'bundle.verificationMaterial.x509CertificateChain.certificates', 'the certificate chain is empty');
    material = {
      kind: 'certificate',
      certificates: certs.map((c, i) => {
        const path = `bundle.verificationMaterial.x509CertificateChain.certificates[${i}]`;
        return b64(str(obj(c, path), 'rawBytes', path), `${path}.rawBytes`);
      }),
    };
  } else {
    throw new ModelSigError('bad-bundle', 'bundle.verificationMaterial', 'verificationMaterial has neither publicKey, certificate nor x509CertificateChain');
  }
  const tlogEntries = Array.isArray(vm.tlogEntries) ? vm.tlogEntries.length : 0;
  if (!isJsonObject(b.dsseEnvelope)) {
    if (isJsonObject(b.messageSignature)) throw new ModelSigError('unsupported', 'bundle.messageSignature', 'the bundle signs a message digest, not a DSSE envelope; model signing v1 uses DSSE');
    throw new ModelSigError('bad-bundle', 'bundle.dsseEnvelope', 'bundle.dsseEnvelope is missing');
  }
  const env = b.dsseEnvelope;
  const payloadType = str(env, 'payloadType', 'bundle.dsseEnvelope');
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new ModelSigError('unsupported', 'bundle.dsseEnvelope.payloadType', `payload type "${payloadType}" is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const payload = b64(str(env, 'payload', 'bundle.dsseEnvelope'), 'bundle.dsseEnvelope.payload');
  const sigs = arr(field(env, 'signatures', 'bundle.dsseEnvelope'), 'bundle.dsseEnvelope.signatures');
  if (sigs.length === 0) throw new ModelSigError('bad-bundle', 'bundle.dsseEnvelope.signatures', 'the envelope has no signature');
  const signatures = sigs.map((s, i) => {
    const path = `bundle.dsseEnvelope.signatures[${i}]`;
    const o = obj(s, path);
    return { sig: b64(str(o, 'sig', path), `${path}.sig`), keyid: typeof o.keyid === 'string' ? o.keyid : '' };
  });
  return { mediaType, material, tlogEntries, payloadType, payload, signatures, statement: parseStatement(payload) };
}

/** SHA-256 over the raw (binary) resource digests concatenated in name order. */
export async function computeSubjectDigest(resources: readonly ModelSigResource[]): Promise<string> {
  const sorted = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const buf = new Uint8Array(sorted.length * 32);
  sorted.forEach((r, i) => {
    for (let j = 0; j < 32; j++) buf[i * 32 + j] = parseInt(r.digest.slice(j * 2, j * 2 + 2), 16);
  });
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return [...d].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Parses a user-given PEM public key (SubjectPublicKeyInfo, ECDSA P-256/384/521). Throws SignatureError. */
export function parsePublicKeyPem(pem: string): { spki: Uint8Array; curve: EcCurve } {
  const spki = pemToDer(pem, 'PUBLIC KEY');
  let curve: EcCurve | null;
  try {
    curve = spkiCurve(spki);
  } catch (e) {
    throw new SignatureError('bad-pem', `the PEM block is not a SubjectPublicKeyInfo: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!curve) throw new SignatureError('unsupported-key', 'only ECDSA public keys on P-256, P-384 and P-521 are supported');
  return { spki, curve };
}

export interface SignerInfo {
  kind: VerificationMaterial['kind'];
  /** the key hint the bundle carries (key-based) */
  keyHint?: string;
  /** the hint of the key the user gave, when one was given */
  givenKeyHint?: string;
  /** the signing certificate (keyless) */
  certificate?: Omit<CertificateInfo, 'spki'>;
  /** who signed, in words: a SAN email or URI and the OIDC issuer, or the key hint */
  identity: string;
}

export type SignatureStatus = 'verified' | 'invalid' | 'not-checked';

export interface ModelSigCheck extends IntegrityOutcome {
  signature: SignatureStatus;
  subjectDigest: 'match' | 'mismatch';
  signer: SignerInfo | null;
  /** what this offline check did not verify, in plain words */
  notVerified: string[];
  bundle: ModelSigBundle | null;
}

export interface ModelSigOptions {
  /** the publisher's public key (PEM SubjectPublicKeyInfo), for key-based bundles */
  publicKeyPem?: string;
  /** path of the signature among the files (excluded from the comparison) */
  sigFile?: string;
}

/** Git metadata model_signing leaves out by default (`ignore_git_paths`). */
const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];

function isIgnored(name: string, ignorePaths: readonly string[], sigFile: string): boolean {
  if (name === sigFile || basename(name) === MODEL_SIG_FILE) return true;
  const first = name.split('/');
  if (first.some((c) => GIT_PATHS.includes(c))) return true;
  return ignorePaths.some((p) => {
    const q = p.replace(/^\.\//, '').replace(/\/+$/, '');
    return q !== '' && (name === q || name.startsWith(q + '/') || name.endsWith('/' + q));
  });
}

const KEYLESS_NOT_VERIFIED = [
  'that the signing certificate chains to the Sigstore (Fulcio) root: the signer identity is what the certificate claims',
  'the transparency-log (Rekor) inclusion proof and signed entry timestamp',
  'that the signature was made while the short-lived certificate was valid (that needs the log timestamp)',
];

function finding(id: string, severity: Finding['severity'], title: string, detail: string, sigFile: string, evidence?: Record<string, unknown>): Finding {
  return { id, category: 'integrity', severity, title, detail, file: sigFile, ...(evidence ? { evidence } : {}) };
}

function describeSigner(cert: CertificateInfo): string {
  const who = cert.san.emails[0] ?? cert.san.uris[0] ?? cert.san.dns[0] ?? cert.subject ?? 'unknown';
  const issuer = cert.fulcio['issuer'] ?? cert.fulcio['issuer (v1)'];
  return issuer ? `${who} (OIDC issuer ${issuer})` : who;
}

/**
 * Checks a parsed bundle against the inspected files: the statement's subject digest, the signature
 * (with the user's public key, or with the bundle's certificate key for keyless bundles), then every file
 * of the folder against the signed manifest (changed → dangerous, missing or extra → warning).
 */
export async function verifyModelSig(bundle: ModelSigBundle, files: readonly LocalFile[], options: ModelSigOptions = {}): Promise<ModelSigCheck> {
  const sigFile = options.sigFile ?? MODEL_SIG_FILE;
  const findings: Finding[] = [];
  const notVerified: string[] = [];
  const st = bundle.statement;

  const computed = await computeSubjectDigest(st.resources);
  const subjectDigest = computed === st.subjectDigest ? 'match' : 'mismatch';
  if (subjectDigest === 'mismatch') {
    findings.push(
      finding(
        'model-sig/subject-digest-mismatch',
        'dangerous',
        'The signed subject digest does not cover the listed files',
        `The statement's subject digest is ${st.subjectDigest}, but SHA-256 over the ${st.resources.length} resource digests in name order is ${computed}. The manifest was altered or built wrongly; its file list cannot be trusted.`,
        sigFile,
        { expected: st.subjectDigest, computed },
      ),
    );
  }

  const message = pae(bundle.payloadType, bundle.payload);
  let signature: SignatureStatus = 'not-checked';
  let signer: SignerInfo | null = null;
  const tryVerify = async (spki: Uint8Array): Promise<boolean> => {
    for (const s of bundle.signatures) {
      try {
        if (await verifyEcdsa(spki, s.sig, message)) return true;
      } catch (e) {
        if (!(e instanceof SignatureError) || e.code !== 'bad-signature-encoding') throw e;
      }
    }
    return false;
  };

  if (bundle.material.kind === 'public-key') {
    signer = { kind: 'public-key', keyHint: bundle.material.hint, identity: `public key ${bundle.material.hint || '(no hint)'}` };
    if (!options.publicKeyPem) {
      notVerified.push('the signature: no public key was given, so anyone could have written this manifest');
      findings.push(
        finding(
          'model-sig/signature-not-checked',
          'info',
          'model.sig is signed with a key, but no public key was given',
          `The bundle names key ${bundle.material.hint || '(no hint)'}. Without the publisher's public key the signature cannot be checked: the file list below shows what model.sig claims, not what its publisher signed. Provide the public key (PEM) to verify.`,
          sigFile,
          { keyHint: bundle.material.hint },
        ),
      );
    } else {
      try {
        const { spki } = parsePublicKeyPem(options.publicKeyPem);
        const given = await keyHint(spki);
        signer.givenKeyHint = given;
        const hintMatches = bundle.material.hint === '' || bundle.material.hint.toLowerCase() === given;
        if (!hintMatches) {
          findings.push(
            finding(
              'model-sig/key-hint-mismatch',
              'warning',
              'The given public key is not the key model.sig names',
              `The bundle's key hint is ${bundle.material.hint}; the given key's hint (SHA-256 of its PEM) is ${given}.`,
              sigFile,
              { expected: bundle.material.hint, actual: given },
            ),
          );
        }
        signature = (await tryVerify(spki)) ? 'verified' : 'invalid';
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        notVerified.push('the signature: the given public key could not be used');
        findings.push(finding('model-sig/bad-public-key', 'warning', 'The given public key could not be used', `${e.message}. The signature was not checked.`, sigFile, { code: e.code }));
      }
    }
  } else {
    const [leafDer] = bundle.material.certificates;
    let cert: CertificateInfo | null = null;
    try {
      cert = parseCertificate(leafDer);
    } catch (e) {
      findings.push(finding('model-sig/bad-certificate', 'error', 'The signing certificate in model.sig cannot be read', `${e instanceof Error ? e.message : String(e)}. The signature and signer were not checked.`, sigFile));
      notVerified.push('the signature and the signer: the certificate is unreadable');
    }
    if (cert) {
      const { spki, ...rest } = cert;
      signer = { kind: 'certificate', certificate: rest, identity: describeSigner(cert) };
      try {
        signature = (await tryVerify(spki)) ? 'verified' : 'invalid';
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        findings.push(finding('model-sig/bad-certificate', 'error', 'The signing certificate holds a key that cannot be used', `${e.message}. The signature was not checked.`, sigFile));
      }
      notVerified.push(...KEYLESS_NOT_VERIFIED);
      if (signature === 'verified') {
        findings.push(
          finding(
            'model-sig/keyless-signer',
            'info',
            `model.sig was signed by ${signer.identity} (identity not verified offline)`,
            `The signature matches the key in the bundle's certificate (subject "${cert.subject}", issued by "${cert.issuer}", valid ${cert.notBefore} to ${cert.notAfter}). Not verified here: ${KEYLESS_NOT_VERIFIED.join('; ')}. Check the identity with the publisher, or verify the bundle with sigstore tooling online.`,
            sigFile,
            { san: cert.san, fulcio: cert.fulcio, issuer: cert.issuer, notBefore: cert.notBefore, notAfter: cert.notAfter, tlogEntries: bundle.tlogEntries },
          ),
        );
      }
    }
  }
  if (signature === 'invalid') {
    findings.push(
      finding(
        'model-sig/signature-invalid',
        'dangerous',
        'The signature in model.sig does not verify',
        bundle.material.kind === 'public-key'
          ? 'The DSSE signature over the manifest does not verify with the given public key: the manifest was changed after signing, or it was signed with another key.'
          : "The DSSE signature over the manifest does not verify with the key of the bundle's own certificate: the manifest was changed after signing.",
        sigFile,
        { signatures: bundle.signatures.length },
      ),
    );
  } else if (signature === 'verified' && bundle.material.kind === 'public-key') {
    findings.push(finding('model-sig/signature-verified', 'info', 'model.sig is signed by the given public key', `The DSSE signature over the manifest of ${st.resources.length} files verifies with the given key (${signer?.givenKeyHint}).`, sigFile));
  }

  let results: ModelSigCheck['results'] = [];
  if (st.method !== 'files') {
    findings.push(
      finding(
        'model-sig/unsupported-serialization',
        'warning',
        `model.sig hashes "${st.method}", not whole files`,
        `The manifest lists digests of ${st.method} (byte ranges), which cannot be compared with whole-file SHA-256 digests. The files were not checked against it.`,
        sigFile,
        { method: st.method },
      ),
    );
  } else {
    const manifest = new Map(st.resources.map((r) => [r.name, r.digest]));
    const cmp = compareManifest(files, manifest, {
      source: 'model.sig',
      label: 'the signed manifest (model.sig)',
      missingSeverity: 'warning',
      extraSeverity: 'warning',
      ignore: (n) => isIgnored(n, st.ignorePaths, sigFile),
    });
    results = cmp.results;
    findings.push(...cmp.findings);
  }
  return { results, findings, signature, subjectDigest, signer, notVerified, bundle };
}

/** Parse and verify in one call; a bundle that cannot be read becomes one `model-sig/malformed` finding. */
export async function checkModelSig(text: string, files: readonly LocalFile[], options: ModelSigOptions = {}): Promise<ModelSigCheck> {
  let bundle: ModelSigBundle;
  try {
    bundle = parseModelSig(text);
  } catch (e) {
    if (!(e instanceof ModelSigError)) throw e;
    return {
      results: [],
      findings: [finding('model-sig/malformed', 'error', 'model.sig is not a readable model-signing bundle', `${e.message}. Nothing was verified against it.`, options.sigFile ?? MODEL_SIG_FILE, { code: e.code, path: e.path })],
      signature: 'not-checked',
      subjectDigest: 'mismatch',
      signer: null,
      notVerified: ['everything: the bundle could not be read'],
      bundle: null,
    };
  }
  return verifyModelSig(bundle, files, options);
}

/** The model.sig among the inspected files: the one nearest the folder root. */
export function findModelSig(names: readonly string[]): string | null {
  const hits = names.filter((n) => basename(n) === MODEL_SIG_FILE).sort((a, b) => a.split('/').length - b.split('/').length);
  return hits[0] ?? null;
}

/** An IntegrityCheck for inspect(): reads the folder's model.sig (if any) and verifies it. */
export function modelSigCheck(options: Omit<ModelSigOptions, 'sigFile'> = {}): IntegrityCheck {
  return async ({ files, folder, signal }) => {
    const sigFile = findModelSig(files.map((f) => f.name));
    const source = sigFile ? folder.get(sigFile) : undefined;
    if (!sigFile || !source) return { results: [], findings: [] };
    if (source.size > MODEL_SIG_MAX_BYTES) {
      return { results: [], findings: [finding('model-sig/malformed', 'error', 'model.sig is too large to be a signing bundle', `"${sigFile}" has ${source.size} bytes; a model-signing bundle is at most ${MODEL_SIG_MAX_BYTES}.`, sigFile, { code: 'too-large' })] };
    }
    const bytes = await readExact(source, 0, source.size, 'model.sig', signal);
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    const r = await checkModelSig(text, files, { ...options, sigFile });
    return { results: r.results, findings: r.findings };
  };
}
