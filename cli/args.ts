/** Command-line parsing for `tamperscope` (DESIGN.md "Contracts": flags and exit codes are a contract). */
export type OutputFormat = 'text' | 'json' | 'md' | 'html' | 'sarif';

export interface ScanArgs {
  command: 'scan';
  paths: string[];
  format: OutputFormat;
  expectSha256: string[];
  checksums: string[];
  probes: boolean;
  reference: string | null;
  publicKey: string | null;
  quiet: boolean;
}

export type ParsedArgs = ScanArgs | { command: 'help' } | { command: 'version' };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: tamperscope scan PATH... [options]

Inspects a model file or a model folder (shards, external data) without running anything in it.

Options:
  --json                    print the Report (JSON, schema tamperscope.report/1) on stdout
  --format FMT              json | md | html | sarif (SARIF 2.1.0) report on stdout
  --expect-sha256 HEX       the SHA-256 the file should have (repeatable)
  --checksums FILE          a SHA256SUMS-style file: "<hex>  <name>" lines
  --public-key FILE         PEM public key a key-signed model.sig in the folder must verify against
  --probes                  run canary probes through the model (ONNX / MLP weights)
  --reference PATH          a trusted reference model to compare with
  -q, --quiet               print nothing; only the exit status
  -h, --help                this text
  --version                 the version

Exit status: 0 clean, 1 warning, 2 error, 3 dangerous, 64 usage error.
`;

const FORMATS: readonly OutputFormat[] = ['json', 'md', 'html', 'sarif'];

export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 0) throw new UsageError('missing command');
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') return { command: 'help' };
  if (command === '--version' || command === 'version') return { command: 'version' };
  if (command !== 'scan') throw new UsageError(`unknown command "${command}" (expected "scan")`);
  const out: ScanArgs = { command: 'scan', paths: [], format: 'text', expectSha256: [], checksums: [], probes: false, reference: null, publicKey: null, quiet: false };
  let formatSet = false;
  const value = (i: number, flag: string): string => {
    const v = rest[i + 1];
    if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const take = () => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i++;
      return v;
    };
    switch (flag) {
      case '--json':
        if (formatSet && out.format !== 'json') throw new UsageError('--json conflicts with --format');
        out.format = 'json';
        formatSet = true;
        break;
      case '--format': {
        const f = take();
        if (!FORMATS.includes(f as OutputFormat)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${f}"`);
        if (formatSet && out.format !== f) throw new UsageError('--format conflicts with --json');
        out.format = f as OutputFormat;
        formatSet = true;
        break;
      }
      case '--expect-sha256': {
        // a digest copied from a web page or `sha256sum` output: surrounding whitespace and a `sha256:` prefix
        // (as the Hub and OCI show it) are not part of it
        const h = take().trim().replace(/^sha256:/i, '');
        if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new UsageError(`--expect-sha256 needs 64 hex digits, got "${h.slice(0, 80)}" (${h.length} characters)`);
        out.expectSha256.push(h.toLowerCase());
        break;
      }
      case '--checksums':
        out.checksums.push(take());
        break;
      case '--probes':
        out.probes = true;
        break;
      case '--reference':
        out.reference = take();
        break;
      case '--public-key':
        out.publicKey = take();
        break;
      case '-q':
      case '--quiet':
        out.quiet = true;
        break;
      case '-h':
      case '--help':
        return { command: 'help' };
      case '--':
        out.paths.push(...rest.slice(i + 1));
        i = rest.length;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option "${a}"`);
        out.paths.push(a);
    }
  }
  if (out.paths.length === 0) throw new UsageError('scan needs at least one PATH');
  return out;
}
