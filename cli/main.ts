import { readFile } from 'node:fs/promises';
import { inspect } from '../src/core/inspect';
import { DigestListError, parseExpectedDigests, type ExpectedDigests } from '../src/core/integrity/expected-digests';
import { exitCodeOf } from '../src/core/report/finding';
import { TOOL_VERSION } from '../src/core/report/report';
import { streamFile } from '../src/core/stream-file';
import { parseArgs, USAGE, UsageError, type ScanArgs } from './args';
import { nodeSha256 } from './node-hash';
import { threadedStats } from './stats-threads';
import { sourcesFromPaths } from './node-source';
import { renderSummary } from './summary';
import { renderReport } from '../src/core/report/render';
import { probeHook } from '../src/core/probes/probe-hook';

export const EXIT_USAGE = 64;

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIO: CliIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

async function loadExpected(args: ScanArgs): Promise<ExpectedDigests[]> {
  const out: ExpectedDigests[] = [];
  if (args.expectSha256.length) out.push({ source: 'pasted', byName: new Map(), any: args.expectSha256 });
  for (const file of args.checksums) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --checksums file "${file}": ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      out.push(parseExpectedDigests(text, 'checksums'));
    } catch (e) {
      if (e instanceof DigestListError) throw new UsageError(`--checksums "${file}": ${e.message}`);
      throw e;
    }
  }
  return out;
}

/** Runs the CLI and returns its exit status (0 clean, 1 warning, 2 error, 3 dangerous, 64 usage). */
export async function runCli(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tamperscope: ${e.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (args.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (args.command === 'version') {
    io.stdout(`tamperscope ${TOOL_VERSION}\n`);
    return 0;
  }
  let sources;
  let expected;
  let reference;
  let publicKeyPem: string | undefined;
  try {
    expected = await loadExpected(args);
    if (args.publicKey !== null) {
      publicKeyPem = await readFile(args.publicKey, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot read --public-key "${args.publicKey}": ${e.code ?? e.message}`);
      });
      if (!/-----BEGIN PUBLIC KEY-----/.test(publicKeyPem)) throw new UsageError(`--public-key "${args.publicKey}" is not a PEM public key (no "BEGIN PUBLIC KEY" block)`);
    }
    sources = await sourcesFromPaths(args.paths).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read "${e.path ?? args.paths.join(' ')}": ${e.code ?? e.message}`);
    });
    if (sources.length === 0) throw new UsageError(`no files found in ${args.paths.join(', ')}`);
    reference = args.reference === null ? undefined : await sourcesFromPaths([args.reference]).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --reference "${args.reference}": ${e.code ?? e.message}`);
    });
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tamperscope: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  try {
    const { report } = await inspect(sources, {
      expected,
      reference,
      publicKeyPem,
      // onnxruntime-web is loaded only when probes are asked for: a plain scan starts fast
      probes: args.probes ? probeHook((await import('./ort-node')).nodeBackendFactory) : undefined,
      streamFile: (source, tensors, onProgress, signal) => streamFile(source, { tensors, hashFactory: nodeSha256, statsSink: threadedStats, onProgress, signal }),
    });
    if (!args.quiet) {
      if (args.format === 'text') io.stdout(renderSummary(report));
      else {
        const text = renderReport(report, args.format);
        io.stdout(text.endsWith('\n') ? text : text + '\n');
      }
    }
    return exitCodeOf(report.verdict);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tamperscope: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  } finally {
    await Promise.all([...sources, ...(reference ?? [])].map((s) => s.close()));
  }
}
