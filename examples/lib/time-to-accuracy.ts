/**
 * The time-to-accuracy table: per run, the first measurement at or above 90% and 95% test accuracy, and the last
 * measurement (at the end of the budget).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { vegaLiteToSvg } from './plot.js';
import { accuracyCurvesSpec } from './run-record.js';
import type { CurvePoint } from './run-record.js';

/** When a run first reached a target: training and wall seconds, steps, forward work and weight updates. */
export interface Reached {
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly steps: number;
  readonly forwardWork: number | null;
  readonly updates: number;
  readonly accuracy: number;
}

/** The first point at or above `target`, or null. */
export function firstReaching(points: readonly CurvePoint[], target: number): Reached | null {
  const p = points.find((q) => q.accuracy >= target);
  return p === undefined ? null : { seconds: p.seconds, wallSeconds: p.wallSeconds, steps: p.steps, forwardWork: p.forwardWork ?? null, updates: p.updates, accuracy: p.accuracy };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const big = (x: number | null | undefined) => (x == null ? '–' : x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(1)} M` : Math.round(x).toLocaleString('en-US'));
const reached = (r: Reached | null) => (r === null ? 'not reached' : `${Math.round(r.seconds)} s (${(r.seconds / 60).toFixed(1)} min; ${big(r.forwardWork)})`);

/** The last point at most `seconds` of training in (a measurement falls a second or two after its time). */
function atTime(points: readonly CurvePoint[], seconds: number): CurvePoint | null {
  const within = points.filter((p) => p.seconds <= seconds + 5);
  return within[within.length - 1] ?? null;
}

/** The host's speed over a run (GFLOP/s): the range over its measurements, or '?' for a record that predates them. */
function speedsOf(points: readonly CurvePoint[]): string {
  const measured = points.flatMap((p) => (p.matMulGflops === undefined ? [] : [p.matMulGflops]));
  return measured.length === 0 ? '?' : `${Math.min(...measured)}–${Math.max(...measured)}`;
}

/**
 * Writes `<out>.md` (the table), `<out>.json` (the same figures) and `<out>.svg` (every run's curve).
 *
 * @param records - Run records as the benchmark writes them (label, budgetSeconds, points, machine).
 * @param out - Path prefix of the three files.
 * @param at - The training seconds at which every run's accuracy is compared (the shortest budget).
 */
export async function summarizeRuns(records: readonly Record<string, unknown>[], out: string, at: number): Promise<void> {
  const rows = records.map((r) => {
    const points = r['points'] as CurvePoint[];
    const budget = Number(r['budgetSeconds']);
    // A run stops at its budget, after the batch that crossed it, and is measured then.
    const last = points[points.length - 1]!;
    return {
      variant: String(r['variant']),
      label: String(r['label']),
      budgetSeconds: budget,
      to90: firstReaching(points, 0.9),
      to95: firstReaching(points, 0.95),
      atCommon: atTime(points, at)?.accuracy ?? null,
      atBudget: { seconds: last.seconds, accuracy: last.accuracy, steps: last.steps, forwardWork: last.forwardWork ?? null, updates: last.updates },
      load: (r['machine'] as { loadAverageStart?: number[]; loadAverageEnd?: number[] } | undefined) ?? null,
      matMulGflops: speedsOf(points),
    };
  });
  const table = [
    `| run | time to 90% (forward work) | time to 95% (forward work) | accuracy at ${at} s | accuracy at the end (training s) | steps | forward work | weight updates | load avg (start → end) | matMul GFLOP/s |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      `| ${r.label} | ${reached(r.to90)} | ${reached(r.to95)} | ${r.atCommon === null ? '–' : pct(r.atCommon)} | ${pct(r.atBudget.accuracy)} (${Math.round(r.atBudget.seconds)} s) | ` +
      `${r.atBudget.steps.toLocaleString('en-US')} | ${big(r.atBudget.forwardWork)} | ${big(r.atBudget.updates)} | ${r.load?.loadAverageStart?.[0] ?? '?'} → ${r.load?.loadAverageEnd?.[0] ?? '?'} | ${r.matMulGflops} |`,
    ),
  ].join('\n');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.md`, `${table}\n`);
  await writeFile(`${out}.json`, `${JSON.stringify(rows, null, 1)}\n`);
  const all = records.flatMap((r) => r['points'] as CurvePoint[]);
  await writeFile(`${out}.svg`, await vegaLiteToSvg(accuracyCurvesSpec('MNIST, paper network: time to accuracy', all)));
  console.log(table);
  console.log(`wrote ${out}.md, ${out}.json and ${out}.svg`);
}
