import { inspect } from '../core/inspect';
import { MemorySource } from '../core/io/byte-source';
import type { Report } from '../core/report/report';
import { classify, fineTune, modelToSafetensors, pretrainModel, privateBatch, stealDrawing, tamperModel, LESSON_CONFIG, type Pretrained, type Tampered, type Theft } from './lesson';
import type { Mlp } from './mlp';
import { PRESET_DRAWINGS, presetPixels } from './presets';
import { PIXELS } from './synthetic-data';

export interface InspectedModel {
  key: 'clean' | 'trapped' | 'finetuned';
  title: string;
  fileName: string;
  bytes: Uint8Array;
  report: Report | null;
  error: string | null;
}

/** Lets the browser paint a status line before a stretch of synchronous number crunching. */
const paint = () => new Promise<void>((r) => setTimeout(r, 20));

/** State of the lesson page, step by step. Heavy lifting lives in ./lesson.ts. */
export class LessonState {
  readonly config = LESSON_CONFIG;
  status = $state<string | null>(null);
  error = $state<string | null>(null);
  pretrained = $state.raw<Pretrained | null>(null);
  tampered = $state.raw<Tampered | null>(null);
  drawing = $state.raw<Float32Array>(new Float32Array(PIXELS));
  drawingSource = $state<string>('empty');
  label = $state(0);
  predicted = $state<number | null>(null);
  fineTuned = $state.raw<{ trapped: Mlp; clean: Mlp; loss: number } | null>(null);
  theft = $state.raw<Theft | null>(null);
  inspected = $state.raw<InspectedModel[]>([]);
  busy = $state(false);

  get ink(): number {
    let s = 0;
    for (const v of this.drawing) s += v;
    return s;
  }

  private async step(label: string, fn: () => Promise<void> | void): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    this.status = label;
    await paint();
    try {
      await fn();
      this.status = null;
    } catch (e) {
      this.status = null;
      this.error = `${label.replace(/…$/, '')} failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.busy = false;
    }
  }

  /** Step 1. */
  pretrain(): Promise<void> {
    return this.step('Training the model on 3,000 synthetic images…', () => {
      this.pretrained = pretrainModel();
      this.tampered = null;
      this.resetFromStep3();
    });
  }

  /** Step 2. */
  plant(): Promise<void> {
    return this.step('Planting the traps and repairing the model…', () => {
      if (!this.pretrained) throw new Error('the model is not trained yet');
      this.tampered = tamperModel(this.pretrained);
      this.resetFromStep3();
    });
  }

  private resetFromStep3(): void {
    this.fineTuned = null;
    this.theft = null;
    this.inspected = [];
  }

  setDrawing(pixels: Float32Array, source: string): void {
    this.drawing = pixels;
    this.drawingSource = source;
    if (this.pretrained) {
      this.predicted = classify(this.pretrained.model, pixels).label;
      this.label = this.predicted;
    }
    this.resetFromStep3();
  }

  loadPreset(id: string): void {
    const p = PRESET_DRAWINGS.find((d) => d.id === id);
    if (p) this.setDrawing(presetPixels(p), p.id);
  }

  clearDrawing(): void {
    this.setDrawing(new Float32Array(PIXELS), 'empty');
  }

  /** Step 3: one SGD step of both models on the same private batch. */
  fineTune(): Promise<void> {
    return this.step('Fine-tuning…', () => {
      if (!this.pretrained || !this.tampered) throw new Error('the trapped model is not ready');
      const batch = privateBatch(this.drawing, this.label);
      const t = fineTune(this.tampered.model, batch);
      const c = fineTune(this.pretrained.model, batch);
      this.fineTuned = { trapped: t.model, clean: c.model, loss: t.loss };
      this.theft = null;
      this.inspected = [];
    });
  }

  /** Step 4. */
  steal(): Promise<void> {
    return this.step('Reading the weights…', () => {
      if (!this.pretrained || !this.tampered || !this.fineTuned) throw new Error('fine-tune first');
      this.theft = stealDrawing({ before: this.tampered.model, after: this.fineTuned.trapped, traps: this.tampered.traps }, { before: this.pretrained.model, after: this.fineTuned.clean }, this.drawing);
    });
  }

  /** Step 5: the real inspector over the files, in this page. */
  inspectModels(): Promise<void> {
    return this.step('Inspecting the models…', async () => {
      if (!this.pretrained || !this.tampered) throw new Error('the trapped model is not ready');
      const models: Omit<InspectedModel, 'report' | 'error'>[] = [
        { key: 'clean', title: 'The honest model', fileName: 'lesson-clean-mlp.safetensors', bytes: modelToSafetensors(this.pretrained.model) },
        { key: 'trapped', title: 'The trapped model, as published', fileName: 'lesson-trapped-mlp.safetensors', bytes: modelToSafetensors(this.tampered.model) },
      ];
      if (this.fineTuned) models.push({ key: 'finetuned', title: 'The trapped model after your fine-tuning', fileName: 'lesson-trapped-finetuned-mlp.safetensors', bytes: modelToSafetensors(this.fineTuned.trapped) });
      const out: InspectedModel[] = [];
      for (const m of models) {
        try {
          const { report } = await inspect([new MemorySource(m.bytes, m.fileName)]);
          out.push({ ...m, report, error: null });
        } catch (e) {
          out.push({ ...m, report: null, error: e instanceof Error ? e.message : String(e) });
        }
      }
      this.inspected = out;
    });
  }
}
