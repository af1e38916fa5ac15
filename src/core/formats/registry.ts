import type { FormatHandler, SniffContext } from './types';
import { safetensorsHandler } from './safetensors/parse-safetensors';
import { safetensorsIndexHandler } from './safetensors/parse-safetensors-index';
import { containerHandlers } from './containers';
import { pytorchZipHandler } from './pytorch/parse-pytorch-zip';
import { pytorchLegacyHandler } from './pytorch/parse-pytorch-legacy';
import { pickleHandler } from './pickle/parse-pickle';
import { npyHandler } from './numpy/parse-npy';
import { zipHandler } from './zip/zip-handler';
import { ggufHandler } from './gguf/parse-gguf';
import { hfConfigHandler } from './hf/parse-hf-config';
import { kerasHandler } from './keras/parse-keras';
import { npzHandler } from './npz/parse-npz';
import { hdf5Handler } from './hdf5/parse-hdf5';
import { onnxHandler } from './onnx/parse-onnx';
import { sentencePieceHandler } from './sentencepiece/parse-sentencepiece';
import { tarHandler } from './tar/tar-handler';
import { gzipHandler } from './gzip/gzip-handler';

/**
 * Every format Tamperscope can identify, in the order they are tried. A format folder exports its
 * handler; adding a format means adding it here. More specific handlers come before generic ones of
 * the same family (a `.keras` zip before a plain zip).
 */
export const FORMAT_HANDLERS: FormatHandler[] = [safetensorsHandler, safetensorsIndexHandler, pytorchZipHandler, kerasHandler, npzHandler, zipHandler, pytorchLegacyHandler, pickleHandler, npyHandler, ggufHandler, hdf5Handler, hfConfigHandler, onnxHandler, sentencePieceHandler, tarHandler, gzipHandler, ...containerHandlers];

/** Handlers whose content check accepts the file, most specific first. */
export function detectFormats(ctx: SniffContext, handlers: readonly FormatHandler[] = FORMAT_HANDLERS): FormatHandler[] {
  const out: FormatHandler[] = [];
  for (const h of handlers) {
    try {
      if (h.sniff(ctx)) out.push(h);
    } catch {
      // a sniffer must never take the inspection down; a throwing sniffer simply does not match
    }
  }
  return out;
}
