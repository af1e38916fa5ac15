import type { FormatHandler, SniffContext } from './types';
import { safetensorsHandler } from './safetensors/parse-safetensors';
import { safetensorsIndexHandler } from './safetensors/parse-safetensors-index';
import { containerHandlers } from './containers';

/**
 * Every format Tamperscope can identify, in the order they are tried. A format folder exports its
 * handler; adding a format means adding it here. More specific handlers come before generic ones of
 * the same family (a `.keras` zip before a plain zip).
 */
export const FORMAT_HANDLERS: FormatHandler[] = [safetensorsHandler, safetensorsIndexHandler, ...containerHandlers];

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
