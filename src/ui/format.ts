export { formatBytes, formatCount } from '../core/report/format-numbers';

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function percent(done: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, Math.round((done / total) * 100));
}

export const VERDICT_LABEL: Record<string, string> = {
  clean: 'No known risk found',
  warning: 'Warnings',
  error: 'Errors',
  dangerous: 'Dangerous',
};
