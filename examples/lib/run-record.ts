/**
 * What the issue-14 benchmarks record per run: test-accuracy curves against wall time and weight updates, the
 * machine's load, and the writing of `<out>.json` and `<out>.svg`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { TopLevelSpec } from 'vega-lite';
import { vegaLiteToSvg } from './plot.js';

/** One test-accuracy measurement of a run. */
export interface CurvePoint {
  /** The method's label (the plot's legend). */
  readonly method: string;
  /** Training seconds so far, evaluation excluded. */
  readonly seconds: number;
  /** Wall seconds so far, evaluation included. */
  readonly wallSeconds: number;
  /** CPU seconds of the process so far (all its threads, evaluation included); absent in older records. */
  readonly cpuSeconds?: number;
  /** Optimizer steps so far (RSO: one scalar each; Adam: one mini-batch each). */
  readonly steps: number;
  /** Weight updates so far: RSO, accepted steps; Adam, steps × trainable scalars. */
  readonly updates: number;
  /** Forward work so far, examples × layers evaluated (RSO's model engine; absent elsewhere). */
  readonly forwardWork?: number;
  /** Accuracy on the test images. */
  readonly accuracy: number;
  /** The host's speed at this measurement (`machineSpeed`, GFLOP/s); absent in older records. */
  readonly matMulGflops?: number;
}

/** The machine as a run saw it. */
export interface MachineNote {
  readonly cpus: number;
  readonly model: string | undefined;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
}

/**
 * The machine's reference speed on the current backend: a plain matMul of 1000×784 by 784×128, timed over 20
 * repetitions after a warm-up. The host's speed has varied by more than 2× between and within sessions, so timed
 * runs record it beside their figures.
 */
export function machineSpeed(): { readonly matMulMs: number; readonly matMulGflops: number } {
  const [a, b] = [tf.randomNormal([1000, 784], 0, 1, 'float32', 1), tf.randomNormal([784, 128], 0, 1, 'float32', 2)];
  const once = () => tf.tidy(() => void tf.matMul(a, b).dataSync());
  once();
  const t0 = performance.now();
  for (let r = 0; r < 20; r++) once();
  const matMulMs = (performance.now() - t0) / 20;
  tf.dispose([a, b]);
  return { matMulMs, matMulGflops: Math.round((2 * 1000 * 784 * 128) / (matMulMs * 1e5)) / 10 };
}

/** The 1, 5 and 15-minute load averages now. */
export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/** The machine note of a run that started with load averages `start`. */
export function machineNote(start: readonly number[]): MachineNote {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageStart: start, loadAverageEnd: loadAverage() };
}

/**
 * A two-panel Vega-Lite spec: test accuracy against training seconds, and against weight updates (log scale),
 * one line per method.
 *
 * @param title - Title above both panels.
 * @param points - The measurements of every run to draw.
 * @param yMin - The bottom of the accuracy axis (points below it are clipped).
 * @returns The spec, data inlined.
 */
export function accuracyCurvesSpec(title: string, points: readonly CurvePoint[], yMin = 0): TopLevelSpec {
  const panel = { width: 400, height: 260 };
  const y = { field: 'accuracy', type: 'quantitative' as const, title: 'test accuracy (10k images)', scale: { domain: [yMin, 1] }, axis: { format: '%' } };
  const color = { field: 'method', type: 'nominal' as const, legend: { orient: 'bottom' as const, labelLimit: 400, columns: 1 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values: points.map((p) => ({ ...p, updates: Math.max(p.updates, 1) })) },
    hconcat: [
      {
        ...panel,
        title: 'Test accuracy against training time',
        mark: { type: 'line', point: true, clip: true },
        encoding: { x: { field: 'seconds', type: 'quantitative', title: 'training seconds (evaluation excluded)' }, y, color },
      },
      {
        ...panel,
        title: 'Test accuracy against weight updates',
        mark: { type: 'line', point: true, clip: true },
        encoding: { x: { field: 'updates', type: 'quantitative', scale: { type: 'log' }, title: 'weight updates (log)' }, y, color },
      },
    ],
  };
}

/**
 * Writes `<out>.json` (the given record) and `<out>.svg` (its curves).
 *
 * @param out - Path prefix of both files.
 * @param title - Plot title.
 * @param record - Everything the JSON holds; its `points` are plotted.
 */
export async function writeRun(out: string, title: string, record: { readonly points: readonly CurvePoint[] } & Record<string, unknown>): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.json`, `${JSON.stringify(record, null, 1)}\n`);
  await writeFile(`${out}.svg`, await vegaLiteToSvg(accuracyCurvesSpec(title, record.points)));
  console.log(`wrote ${out}.json and ${out}.svg`);
}
