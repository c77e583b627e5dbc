/**
 * Draws the curves of several benchmark runs in one plot: test accuracy against training time and against
 * weight updates, one line per run.
 *
 *   npm run bench:plot-runs -- --title "…" [--y-min 0.9] --out out/binary-activations out/binary-activations-rso.json out/binary-activations-ste.json
 *
 * Reads the `points` of each JSON written by the issue-14 benchmarks; writes <out>.svg.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { vegaLiteToSvg } from '../lib/plot.js';
import { accuracyCurvesSpec } from '../lib/run-record.js';
import type { CurvePoint } from '../lib/run-record.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string', default: 'MNIST' }, 'y-min': { type: 'string', default: '0' }, out: { type: 'string' } } });
const yMin = Number(values['y-min']);
if (!(yMin >= 0 && yMin < 1)) throw new RangeError(`--y-min must be in [0, 1), got ${values['y-min']}`);
if (values.out === undefined || positionals.length === 0) throw new RangeError('give --out <path prefix> and at least one run JSON');
const points: CurvePoint[] = [];
for (const file of positionals) {
  const run = JSON.parse(await readFile(file, 'utf8')) as { points?: CurvePoint[] };
  if (!Array.isArray(run.points)) throw new TypeError(`${file} has no points array`);
  points.push(...run.points);
}
await writeFile(`${values.out}.svg`, await vegaLiteToSvg(accuracyCurvesSpec(values.title!, points, yMin)));
console.log(`wrote ${values.out}.svg (${points.length} points from ${positionals.length} runs)`);
