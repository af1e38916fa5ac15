import type { FolderIndex } from '../../core/formats/types';
import type { LocalFile } from '../../core/integrity/compare-manifest';
import { compareHubDigests, HubLookupError, lookupHubDigests, type HubDigests } from '../../core/integrity/hub-lookup';
import type { IntegrityOutcome } from '../../core/integrity/integrity-check';
import { isAbortError } from '../../core/io/errors';

/** The opt-in Hub look-up: nothing is requested until `run()` (the user's click). */
export class HubLookupState {
  repo = $state('');
  revision = $state('main');
  phase = $state<'idle' | 'running' | 'done' | 'failed'>('idle');
  error = $state<string | null>(null);
  hub = $state.raw<HubDigests | null>(null);
  outcome = $state.raw<IntegrityOutcome | null>(null);
  private controller: AbortController | null = null;

  cancel(): void {
    this.controller?.abort();
  }

  async run(files: readonly LocalFile[], folder?: FolderIndex, options: { hubUrl?: string; fetch?: typeof fetch } = {}): Promise<void> {
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    this.phase = 'running';
    this.error = null;
    this.hub = null;
    this.outcome = null;
    try {
      const hub = await lookupHubDigests({ repo: this.repo, revision: this.revision, hubUrl: options.hubUrl, fetch: options.fetch, signal: controller.signal });
      if (this.controller !== controller) return;
      this.hub = hub;
      this.outcome = await compareHubDigests(files, hub, folder, controller.signal);
      this.phase = 'done';
    } catch (e) {
      if (this.controller !== controller) return;
      this.phase = isAbortError(e) ? 'idle' : 'failed';
      this.error = isAbortError(e) ? null : e instanceof HubLookupError ? e.message : `Hub look-up failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}
