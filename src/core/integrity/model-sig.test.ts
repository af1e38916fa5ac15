import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byte-source';
import { folderIndexOf } from '../inspect';
import { buildReport } from '../report/report';
import { assertValidReport } from '../../../tests/helpers/schema';
import type { LocalFile } from './compare-manifest';
import { DerError, readDer } from './der';
import { ecdsaDerToRaw, keyHint, pae, verifyEcdsa } from './dsse';
import { checkModelSig, computeSubjectDigest, ModelSigError, modelSigCheck, parseModelSig, parsePublicKeyPem, verifyModelSig } from './model-sig';
import { parseCertificate } from './x509';

const FIX = join(__dirname, '../../../tests/fixtures/integrity');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as {
  digests: Record<string, string>;
  subjectDigest: string;
  hints: Record<'p256' | 'p384' | 'other', string>;
  keyless: { email: string; issuer: string; uri: string; serial: string };
};
const sig = (name: string) => readFileSync(join(FIX, 'sigs', name), 'utf8');
const key = (name: string) => readFileSync(join(FIX, 'keys', name), 'utf8');
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}
/** The model folder as the inspection sees it, with model.sig dropped in beside the files. */
function modelFiles(sigName = 'key-p256.sig'): { name: string; bytes: Uint8Array }[] {
  const files = walk(join(FIX, 'model')).map((p) => ({ name: relative(join(FIX, 'model'), p).replace(/\\/g, '/'), bytes: new Uint8Array(readFileSync(p)) }));
  files.push({ name: 'model.sig', bytes: new Uint8Array(readFileSync(join(FIX, 'sigs', sigName))) });
  return files;
}
const local = (files: { name: string; bytes: Uint8Array }[]): LocalFile[] => files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha(f.bytes) }));
const ids = (fs: { id: string; severity: string }[]) => fs.map((f) => `${f.id}:${f.severity}`).sort();

describe('model.sig parsing', () => {
  it('reads a key-based bundle and its in-toto statement', () => {
    const b = parseModelSig(sig('key-p256.sig'));
    expect(b.material).toEqual({ kind: 'public-key', hint: expected.hints.p256 });
    expect(b.payloadType).toBe('application/vnd.in-toto+json');
    expect(b.statement.subjectDigest).toBe(expected.subjectDigest);
    expect(b.statement.method).toBe('files');
    expect(b.statement.resources.map((r) => [r.name, r.digest])).toEqual([
      ['config.json', expected.digests['config.json']],
      ['model.safetensors', expected.digests['model.safetensors']],
      ['tokenizer/vocab.txt', expected.digests['tokenizer/vocab.txt']],
    ]);
  });

  it('recomputes the subject digest over raw digests in name order', async () => {
    const b = parseModelSig(sig('key-p256.sig'));
    expect(await computeSubjectDigest([...b.statement.resources].reverse())).toBe(expected.subjectDigest);
  });

  const bundle = JSON.parse(sig('key-p256.sig'));
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  const withPayload = (text: string) => JSON.stringify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from(text).toString('base64') } });
  const cases: [string, string, string, string][] = [
    ['not JSON', '{"mediaType": ', 'bad-json', ''],
    ['not a Sigstore bundle', JSON.stringify({ ...bundle, mediaType: 'text/plain' }), 'unsupported', 'bundle.mediaType'],
    ['no verification material', JSON.stringify({ ...bundle, verificationMaterial: {} }), 'bad-bundle', 'bundle.verificationMaterial'],
    ['no envelope', JSON.stringify({ mediaType: bundle.mediaType, verificationMaterial: bundle.verificationMaterial }), 'bad-bundle', 'bundle.dsseEnvelope'],
    ['payload not base64', JSON.stringify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: '%%%' } }), 'bad-bundle', 'bundle.dsseEnvelope.payload'],
    ['other payload type', JSON.stringify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payloadType: 'text/plain' } }), 'unsupported', 'bundle.dsseEnvelope.payloadType'],
    ['no signatures', JSON.stringify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, signatures: [] } }), 'bad-bundle', 'bundle.dsseEnvelope.signatures'],
    ['duplicate key in the signed statement', withPayload(`{"_type":"https://in-toto.io/Statement/v1","_type":"x"}`), 'bad-payload', '_type'],
    ['other predicate', withPayload(JSON.stringify({ ...statement, predicateType: 'https://slsa.dev/provenance/v1' })), 'unsupported', 'statement.predicateType'],
    ['resource digest not hex', withPayload(JSON.stringify({ ...statement, predicate: { ...statement.predicate, resources: [{ name: 'a', algorithm: 'sha256', digest: 'zz' }] } })), 'bad-statement', 'statement.predicate.resources[0].digest'],
    ['resource listed twice', withPayload(JSON.stringify({ ...statement, predicate: { ...statement.predicate, resources: [statement.predicate.resources[0], statement.predicate.resources[0]] } })), 'bad-statement', 'statement.predicate.resources[1].name'],
    ['blake2 resources', withPayload(JSON.stringify({ ...statement, predicate: { ...statement.predicate, resources: [{ ...statement.predicate.resources[0], algorithm: 'blake2b' }] } })), 'unsupported', 'statement.predicate.resources[0].algorithm'],
  ];
  for (const [what, text, code, path] of cases) {
    it(`rejects ${what} with code ${code}`, () => {
      let err: unknown;
      try {
        parseModelSig(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ModelSigError);
      expect((err as ModelSigError).code).toBe(code);
      expect((err as ModelSigError).path).toBe(path);
    });
  }

  it('turns an unreadable bundle into one malformed finding', async () => {
    const r = await checkModelSig('[]', local(modelFiles()));
    expect(ids(r.findings)).toEqual(['model-sig/malformed:error']);
    expect(r.signature).toBe('not-checked');
    expect(r.results).toEqual([]);
  });
});

describe('model.sig verification (key-based)', () => {
  it('verifies a P-256 signature and matches every file; git metadata and model.sig are excluded', async () => {
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(modelFiles()), { publicKeyPem: key('signer-p256.pub.pem') });
    expect(r.signature).toBe('verified');
    expect(r.subjectDigest).toBe('match');
    expect(r.signer?.givenKeyHint).toBe(expected.hints.p256);
    expect(ids(r.findings)).toEqual(['model-sig/signature-verified:info']);
    expect(r.results.map((x) => [x.file, x.source, x.status])).toEqual([
      ['config.json', 'model.sig', 'match'],
      ['model.safetensors', 'model.sig', 'match'],
      ['tokenizer/vocab.txt', 'model.sig', 'match'],
    ]);
  });

  it('verifies a P-384 signature (SHA-384)', async () => {
    const r = await verifyModelSig(parseModelSig(sig('key-p384.sig')), local(modelFiles('key-p384.sig')), { publicKeyPem: key('signer-p384.pub.pem') });
    expect(r.signature).toBe('verified');
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('a changed file is dangerous', async () => {
    const files = modelFiles();
    const st = files.find((f) => f.name === 'model.safetensors')!;
    st.bytes = st.bytes.slice();
    st.bytes[st.bytes.length - 1] ^= 1;
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(files), { publicKeyPem: key('signer-p256.pub.pem') });
    const f = r.findings.find((x) => x.id === 'integrity/sha256-mismatch')!;
    expect(f).toMatchObject({ severity: 'dangerous', category: 'integrity', file: 'model.safetensors', evidence: { expected: expected.digests['model.safetensors'], actual: sha(st.bytes), source: 'model.sig' } });
    expect(r.results.find((x) => x.file === 'model.safetensors')!.status).toBe('mismatch');
  });

  it('its results and findings make a valid, dangerous report', async () => {
    const files = modelFiles();
    const i = files.findIndex((f) => f.name === 'config.json');
    files[i] = { ...files[i], bytes: new TextEncoder().encode('changed') };
    const l = local(files);
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), l, { publicKeyPem: key('signer-p256.pub.pem') });
    const report = buildReport({ files: l.map((f) => ({ name: f.name, size: f.size!, sha256: f.sha256, format: null, formats: [] })), findings: r.findings, model: null, integrity: r.results });
    assertValidReport(report);
    expect(report.verdict).toBe('dangerous');
  });

  it('a missing file is a warning', async () => {
    const files = modelFiles().filter((f) => f.name !== 'tokenizer/vocab.txt');
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(files), { publicKeyPem: key('signer-p256.pub.pem') });
    expect(ids(r.findings)).toEqual(['integrity/missing-file:warning', 'model-sig/signature-verified:info']);
    expect(r.results.find((x) => x.file === 'tokenizer/vocab.txt')).toMatchObject({ status: 'missing', actual: null, expected: expected.digests['tokenizer/vocab.txt'] });
  });

  it('an extra file is a warning', async () => {
    const files = [...modelFiles(), { name: 'modeling_tiny.py', bytes: new TextEncoder().encode('import os\n') }];
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(files), { publicKeyPem: key('signer-p256.pub.pem') });
    expect(ids(r.findings)).toEqual(['integrity/extra-file:warning', 'model-sig/signature-verified:info']);
    expect(r.results.find((x) => x.file === 'modeling_tiny.py')).toMatchObject({ status: 'extra', expected: null });
  });

  it('a wrong key: the signature does not verify and the hint differs', async () => {
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(modelFiles()), { publicKeyPem: key('other-p256.pub.pem') });
    expect(r.signature).toBe('invalid');
    expect(ids(r.findings)).toEqual(['model-sig/key-hint-mismatch:warning', 'model-sig/signature-invalid:dangerous']);
    expect(r.findings[0].evidence).toEqual({ expected: expected.hints.p256, actual: expected.hints.other });
  });

  it('a payload altered after signing does not verify', async () => {
    const r = await verifyModelSig(parseModelSig(sig('altered-payload.sig')), local(modelFiles()), { publicKeyPem: key('signer-p256.pub.pem') });
    expect(r.signature).toBe('invalid');
    expect(ids(r.findings)).toEqual(['integrity/sha256-mismatch:dangerous', 'model-sig/signature-invalid:dangerous']);
  });

  it('a bad subject digest is dangerous even with a valid signature', async () => {
    const r = await verifyModelSig(parseModelSig(sig('bad-subject.sig')), local(modelFiles()), { publicKeyPem: key('signer-p256.pub.pem') });
    expect(r.signature).toBe('verified');
    expect(r.subjectDigest).toBe('mismatch');
    const f = r.findings.find((x) => x.id === 'model-sig/subject-digest-mismatch')!;
    expect(f).toMatchObject({ severity: 'dangerous', evidence: { expected: '0'.repeat(64), computed: expected.subjectDigest } });
  });

  it('without a key the signature is not checked, and says so', async () => {
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(modelFiles()));
    expect(r.signature).toBe('not-checked');
    expect(ids(r.findings)).toEqual(['model-sig/signature-not-checked:info']);
    expect(r.notVerified[0]).toMatch(/no public key/);
    expect(r.results.every((x) => x.status === 'match')).toBe(true);
  });

  it('a key that is not a PEM public key is reported, not thrown', async () => {
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(modelFiles()), { publicKeyPem: 'hello' });
    expect(ids(r.findings)).toEqual(['model-sig/bad-public-key:warning']);
    expect(r.signature).toBe('not-checked');
  });

  it('a dropped folder that keeps its own name still lines up with the manifest', async () => {
    const files = modelFiles().map((f) => ({ ...f, name: `tiny-model/${f.name}` }));
    const r = await verifyModelSig(parseModelSig(sig('key-p256.sig')), local(files), { publicKeyPem: key('signer-p256.pub.pem'), sigFile: 'tiny-model/model.sig' });
    expect(r.results.map((x) => x.status)).toEqual(['match', 'match', 'match']);
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('modelSigCheck reads model.sig from the folder', async () => {
    const files = modelFiles();
    const folder = folderIndexOf(files.map((f) => new MemorySource(f.bytes, f.name)));
    const files2 = files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha(f.bytes) }));
    const r = await modelSigCheck({ publicKeyPem: key('signer-p256.pub.pem') })({ files: files2, folder });
    expect(r.results).toHaveLength(3);
    expect(ids(r.findings)).toEqual(['model-sig/signature-verified:info']);
    const none = await modelSigCheck()({ files: files2.filter((f) => f.name !== 'model.sig'), folder });
    expect(none).toEqual({ results: [], findings: [] });
  });
});

describe('model.sig verification (keyless)', () => {
  it('shows the signer identity from the certificate and what was not verified', async () => {
    const r = await verifyModelSig(parseModelSig(sig('keyless.sig')), local(modelFiles('keyless.sig')));
    expect(r.signature).toBe('verified');
    expect(r.signer?.kind).toBe('certificate');
    expect(r.signer?.certificate?.san.emails).toEqual([expected.keyless.email]);
    expect(r.signer?.certificate?.fulcio).toEqual({ 'issuer (v1)': expected.keyless.issuer, issuer: expected.keyless.issuer });
    expect(r.signer?.certificate?.serialNumber).toBe(expected.keyless.serial);
    expect(r.signer?.identity).toBe(`${expected.keyless.email} (OIDC issuer ${expected.keyless.issuer})`);
    expect(r.notVerified).toHaveLength(3);
    expect(r.notVerified.join(' ')).toMatch(/Fulcio.*Rekor/s);
    expect(ids(r.findings)).toEqual(['model-sig/keyless-signer:info']);
    expect(r.findings[0].title).toContain('identity not verified offline');
  });

  it('reads a v0.1 bundle with a certificate chain and a workflow identity', async () => {
    const r = await verifyModelSig(parseModelSig(sig('keyless-chain.sig')), local(modelFiles('keyless-chain.sig')));
    expect(r.signature).toBe('verified');
    expect(r.signer?.certificate?.san.uris).toEqual([expected.keyless.uri]);
    expect(r.signer?.certificate?.fulcio['github workflow repository']).toBe('example/tiny-model');
    expect(r.signer?.certificate?.fulcio['build signer uri']).toBe(expected.keyless.uri);
    expect(r.signer?.certificate?.notBefore).toBe('2025-01-01T00:00:00Z');
    expect(r.signer?.certificate?.notAfter).toBe('2025-01-01T00:10:00Z');
  });

  it('an envelope signed by another key than the certificate is dangerous', async () => {
    const r = await verifyModelSig(parseModelSig(sig('keyless-wrong-key.sig')), local(modelFiles()));
    expect(r.signature).toBe('invalid');
    expect(ids(r.findings)).toEqual(['model-sig/signature-invalid:dangerous']);
  });

  it('a truncated certificate is an error finding with the DER offset', async () => {
    const b = parseModelSig(sig('keyless.sig'));
    if (b.material.kind !== 'certificate') throw new Error('expected a certificate');
    const cut = b.material.certificates[0].subarray(0, 100);
    expect(() => parseCertificate(cut)).toThrowError(DerError);
    try {
      parseCertificate(cut);
    } catch (e) {
      expect((e as DerError).code).toBe('truncated');
    }
    const r = await verifyModelSig({ ...b, material: { kind: 'certificate', certificates: [cut] } }, local(modelFiles()));
    expect(ids(r.findings)).toEqual(['model-sig/bad-certificate:error']);
  });
});

describe('DSSE and ECDSA helpers', () => {
  it('PAE is "DSSEv1 <len> <type> <len> <body>"', () => {
    expect(new TextDecoder().decode(pae('application/vnd.in-toto+json', new TextEncoder().encode('hello')))).toBe('DSSEv1 28 application/vnd.in-toto+json 5 hello');
  });

  it('DER → r‖s agrees with Node for 200 signatures on P-256 and P-384', async () => {
    for (const [curve, size, name] of [['prime256v1', 32, 'P-256'], ['secp384r1', 48, 'P-384']] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
      const hash = size === 32 ? 'sha256' : 'sha384';
      for (let i = 0; i < 100; i++) {
        const msg = Buffer.from(`message ${i}`);
        const der = new Uint8Array(sign(hash, msg, { key: privateKey, dsaEncoding: 'der' }));
        const raw = ecdsaDerToRaw(der, name);
        expect(raw.length).toBe(size * 2);
        expect(verify(hash, msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      }
      const msg = new TextEncoder().encode('x');
      const der = new Uint8Array(sign(hash, msg, { key: privateKey, dsaEncoding: 'der' }));
      expect(await verifyEcdsa(spki, der, msg)).toBe(true);
      expect(await verifyEcdsa(spki, der, new TextEncoder().encode('y'))).toBe(false);
    }
  });

  it('the key hint is SHA-256 of the canonical PEM, whatever the line ends of the given copy', async () => {
    const pem = key('signer-p256.pub.pem');
    expect(sha(pem)).toBe(expected.hints.p256);
    const crlf = pem.replace(/\n/g, '\r\n');
    expect(await keyHint(parsePublicKeyPem(crlf).spki)).toBe(expected.hints.p256);
  });

  it('the DER reader refuses lengths past the end and indefinite lengths', () => {
    const codes: string[] = [];
    for (const bytes of [[0x30, 0x05, 0x02, 0x01], [0x30, 0x80, 0x00, 0x00], [0x30, 0x85, 1, 1, 1, 1, 1], [0x30]]) {
      try {
        readDer(new Uint8Array(bytes));
      } catch (e) {
        codes.push((e as DerError).code);
      }
    }
    expect(codes).toEqual(['truncated', 'bad-length', 'bad-length', 'truncated']);
  });
});
