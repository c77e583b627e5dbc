import { Callback } from '@tensorflow/tfjs-layers';
import type { Logs } from '@tensorflow/tfjs-layers';

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  /** Where to draw (default `process.stderr`). */
  readonly stream?: NodeJS.WriteStream;
  /** Bar width in characters (default 30). */
  readonly width?: number;
}

/** What the bar reads from an RSOOptimizer, when the model is compiled with one. */
interface RSOLike {
  readonly step: number;
  readonly cycle: number;
  currentGroup(): string;
}

const isRSO = (o: unknown): o is RSOLike =>
  typeof o === 'object' && o !== null && typeof (o as RSOLike).currentGroup === 'function' && typeof (o as RSOLike).step === 'number';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

class ProgressBar extends Callback {
  /** The bar reads the loss only: `rso.fit` need not compute batch metrics for it. */
  readonly wantsBatchMetrics = false;
  private readonly stream: NodeJS.WriteStream;
  private readonly width: number;
  private t0 = 0;
  private lastDraw = 0;
  private total = 0;
  private start = 0;
  private done = 0;

  constructor(options: ProgressBarOptions) {
    super();
    this.stream = options.stream ?? process.stderr;
    this.width = options.width ?? 30;
  }

  private get rso(): RSOLike | null {
    const opt = (this.model as unknown as { optimizer?: unknown } | undefined)?.optimizer;
    return isRSO(opt) ? opt : null;
  }

  override async onTrainBegin(): Promise<void> {
    this.t0 = Date.now();
    this.lastDraw = 0;
    // rso.fit gives the planned steps; under model.fit, count batches.
    const planned = Number(this.params['rsoPlannedSteps']);
    this.total = Number.isFinite(planned) && planned > 0 ? planned : Number(this.params['steps'] ?? 0) * Number(this.params['epochs'] ?? 1);
    this.start = this.rso?.step ?? 0;
    this.done = 0;
  }

  override async onBatchEnd(_batch: number, logs?: Logs): Promise<void> {
    const rso = this.rso;
    this.done = rso === null ? this.done + 1 : rso.step - this.start;
    // Redraw at most 10 times a second on a terminal, every 5 s in a log file: no timer is left running.
    const now = Date.now();
    if (now - this.lastDraw < (this.stream.isTTY ? 100 : 5000)) return;
    this.lastDraw = now;
    this.draw(logs?.['loss'], rso, false);
  }

  override async onTrainEnd(): Promise<void> {
    this.draw(undefined, this.rso, true);
  }

  private draw(loss: number | undefined, rso: RSOLike | null, last: boolean): void {
    const elapsed = (Date.now() - this.t0) / 1000;
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(share * this.width);
    const rate = this.done / Math.max(elapsed, 1e-9);
    const parts = [
      `RSO |${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}| ${(share * 100).toFixed(0)}%`,
      `step ${this.done}/${this.total}`,
      ...(rso === null ? [] : [`cycle ${rso.cycle}`, rso.currentGroup()]),
      ...(loss === undefined ? [] : [`loss ${loss.toPrecision(4)}`]),
      `${rate.toFixed(1)} steps/s`,
      last ? duration(elapsed) : `ETA ${duration((this.total - this.done) / rate)}`,
    ];
    this.stream.write(`${this.stream.isTTY ? '\r' : ''}${parts.join(' | ')}${this.stream.isTTY && !last ? '' : '\n'}`);
  }
}

/**
 * A terminal progress bar for `rso.fit` and `model.fit`, as a tfjs callback (Node).
 *
 * @remarks It redraws from the batch callbacks only, at most 10 times a second on a terminal and every 5 s
 * otherwise, so it holds no timer and cannot keep the process alive after an error. With an RSOOptimizer it
 * shows steps, the cycle and the layer being searched; under `model.fit` with another optimizer, batches.
 * @param options - The stream and the bar width.
 * @returns The callback.
 * @example
 * ```ts
 * import { progressBar } from 'tfjs-rso/node';
 * await rso.fit(model, x, y, { verbose: 0, callbacks: [progressBar()] });
 * ```
 */
export function progressBar(options: ProgressBarOptions = {}): Callback {
  return new ProgressBar(options);
}
