/**
 * A tiny plotting helper for the examples: training curves as a Vega-Lite spec, rendered to SVG in Node.
 *
 * @packageDocumentation
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** One recorded training step: the mini-batch loss of the value kept. */
export interface LossPoint {
  readonly step: number;
  readonly loss: number;
  readonly seconds: number;
}

/** One accuracy measurement; `set` names the test images it was measured on (it becomes the legend). */
export interface AccuracyPoint {
  readonly step: number;
  readonly seconds: number;
  readonly accuracy: number;
  readonly set: string;
}

/** What {@link trainingCurvesSpec} plots. */
export interface TrainingCurves {
  /** Title above both panels. */
  readonly title: string;
  /** Loss per step. */
  readonly loss: readonly LossPoint[];
  /** Test accuracy at a few steps. */
  readonly accuracy: readonly AccuracyPoint[];
  /** Steps averaged by the smoothed loss line (default 50). */
  readonly smoothing?: number;
}

/**
 * Builds a two-panel Vega-Lite spec: training loss vs step (raw and a trailing moving average), and test
 * accuracy vs step.
 *
 * @param curves - The series and the title.
 * @returns A Vega-Lite spec with the data inlined.
 * @example
 * ```ts
 * const svg = await vegaLiteToSvg(trainingCurvesSpec({ title: 'run', loss: [], accuracy: [] }));
 * ```
 */
export function trainingCurvesSpec(curves: TrainingCurves): TopLevelSpec {
  const window = Math.max(1, Math.round(curves.smoothing ?? 50));
  const panel = { width: 420, height: 260 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: curves.title,
    background: 'white',
    hconcat: [
      {
        ...panel,
        title: { text: 'Training loss (mini-batch)', subtitle: `red: mean of the last ${window} steps` },
        data: { values: curves.loss.map((p) => ({ ...p })) },
        transform: [{ window: [{ op: 'mean', field: 'loss', as: 'smoothed' }], sort: [{ field: 'step' }], frame: [-(window - 1), 0] }],
        encoding: { x: { field: 'step', type: 'quantitative', title: 'RSO step' } },
        layer: [
          {
            mark: { type: 'line', opacity: 0.3, strokeWidth: 1 },
            encoding: { y: { field: 'loss', type: 'quantitative', title: 'cross-entropy loss', scale: { zero: false } } },
          },
          {
            mark: { type: 'line', strokeWidth: 2, color: '#d62728' },
            encoding: { y: { field: 'smoothed', type: 'quantitative' } },
          },
        ],
      },
      {
        ...panel,
        title: 'Test accuracy',
        data: { values: curves.accuracy.map((p) => ({ ...p })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'RSO step' },
          y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } },
          color: { field: 'set', type: 'nominal', title: 'measured on', legend: { orient: 'bottom', labelLimit: 400 } },
        },
      },
    ],
  };
}

/**
 * Renders a Vega-Lite spec to an SVG string, headless (no canvas, no browser).
 *
 * @param spec - The Vega-Lite spec, data inlined.
 * @returns The SVG markup.
 */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
