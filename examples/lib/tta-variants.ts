/**
 * The runs of the time-to-accuracy benchmark: RSO at the paper's settings, each option alone, the `fast` preset,
 * and the gradient baselines.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as rso from '../../src/index.js';
import type { RSOConfig, Schedule } from '../../src/index.js';

/** An RSO run: its optimizer options, its batch size (or schedule), and what differs from the paper. */
export interface RsoVariant {
  readonly label: string;
  readonly config: () => RSOConfig;
  readonly batchSize: () => number | Schedule;
  /** Cycles `rso.fit` may run (the budget normally ends the run first). */
  readonly runCycles: number;
  /** The settings as plain data, for the record. */
  readonly settings: Record<string, unknown>;
  /** How the run departs from the paper's algorithm, beside the batch size every run shares. */
  readonly deviations: readonly string[];
}

/** A gradient baseline: tfjs's optimizer, on the same data and network. */
export interface GradientVariant {
  readonly label: string;
  readonly optimizer: () => tf.Optimizer;
  readonly batchSize: number;
  readonly settings: Record<string, unknown>;
}

// The measured baseline ran the paper's algorithm at batch 1000 (the paper: 5000), annealing σ over 50 cycles.
const PAPER_BATCH = 1000;
const RUN_CYCLES = 50;

/** Shares of each weight group (input → output) per cycle: fewer steps where a step costs most. */
const GROUP_SHARES = [0.25, 0.25, 0.5, 1, 1, 1, 1];

/** The batch-size schedule option: small batches early. */
const batchSchedule = (): Schedule => rso.piecewiseSchedule({ boundaries: [1, 2], values: [250, 500, 1000] });

export const RSO_VARIANTS: Readonly<Record<string, RsoVariant>> = {
  paper: {
    label: 'RSO, paper settings (batch 1000)',
    config: () => ({}),
    batchSize: () => PAPER_BATCH,
    runCycles: RUN_CYCLES,
    settings: { batchSize: PAPER_BATCH, cycles: 50, sigma: 'linear 1 → 0.1 over 50 cycles' },
    deviations: [],
  },
  'batch-schedule': {
    label: 'RSO, batch schedule 250/500/1000',
    config: () => ({}),
    batchSize: batchSchedule,
    runCycles: RUN_CYCLES,
    settings: { batchSize: 'cycle 0: 250, cycle 1: 500, then 1000' },
    deviations: ['batch 250 in cycle 0 and 500 in cycle 1'],
  },
  'adaptive-sigma': {
    label: 'RSO, adaptive σ (1/5th rule)',
    config: () => ({ sigmaAdaptation: rso.successRule() }),
    batchSize: () => PAPER_BATCH,
    runCycles: RUN_CYCLES,
    settings: { batchSize: PAPER_BATCH, sigmaAdaptation: 'successRule(): target 0.2, window 50, factor 1.25' },
    deviations: ["σ per tensor scaled by a multiplier that the 1/5th success rule adapts"],
  },
  'early-rejection': {
    label: 'RSO, early rejection (batch 1000)',
    config: () => ({ earlyRejection: rso.earlyRejection() }),
    batchSize: () => PAPER_BATCH,
    runCycles: RUN_CYCLES,
    settings: { batchSize: PAPER_BATCH, earlyRejection: 'earlyRejection(): stages 1/8, 1/4, 1/2, 1; errorRate 0.05; minExamples 30' },
    deviations: ['a step may end on a prefix of its batch (1/8, 1/4 or 1/2) when a paired z test settles it at error rate 0.05; BN normalises the prefix with its own statistics'],
  },
  'probe-reuse': {
    label: 'RSO, probe reuse (batch 1000)',
    config: () => ({ probeReuse: rso.parabolicStep() }),
    batchSize: () => PAPER_BATCH,
    runCycles: RUN_CYCLES,
    settings: { batchSize: PAPER_BATCH, probeReuse: 'parabolicStep(): maxStep 1' },
    deviations: ['each step moves to the minimum of the parabola through the losses of w, w + Δ and w − Δ, clamped to w ± Δ (the best of the three where the parabola does not curve upward)'],
  },
  // The preset before probe reuse joined it: block moves, the 1/5th rule and the batch schedule.
  'fast-without-probe-reuse': {
    label: 'RSO, fast preset without probe reuse',
    config: () => ({ moves: rso.channelBlocks(), sigmaAdaptation: rso.successRule() }),
    batchSize: batchSchedule,
    runCycles: RUN_CYCLES,
    settings: { batchSize: 'cycle 0: 250, cycle 1: 500, then 1000', moves: 'channelBlocks()', sigmaAdaptation: 'successRule()' },
    deviations: rso.fastPreset().deviations.filter((d) => !d.startsWith('probe reuse')),
  },
  fast: {
    label: 'RSO, fast preset',
    config: () => rso.fastPreset().config,
    batchSize: () => rso.fastPreset().batchSize,
    runCycles: RUN_CYCLES,
    settings: { preset: 'fastPreset()', batchSize: 'cycle 0: 250, cycle 1: 500, then 1000', moves: 'channelBlocks()', sigmaAdaptation: 'successRule()', probeReuse: 'parabolicStep()' },
    deviations: rso.fastPreset().deviations,
  },
  // The preset with fewer steps on the conv blocks whose steps cost most (blocks 0 and 1, then block 2).
  'fast-group-shares': {
    label: 'RSO, fast preset + group shares',
    config: () => ({ ...rso.fastPreset().config, coordinates: rso.randomSubset({ fraction: GROUP_SHARES }) }),
    batchSize: () => rso.fastPreset().batchSize,
    runCycles: RUN_CYCLES,
    settings: { preset: 'fastPreset()', batchSize: 'cycle 0: 250, cycle 1: 500, then 1000', coordinates: `randomSubset({ fraction: [${GROUP_SHARES.join(', ')}] })` },
    deviations: [...rso.fastPreset().deviations, `each cycle visits a random ${GROUP_SHARES[0]}, ${GROUP_SHARES[1]} and ${GROUP_SHARES[2]} of conv blocks 0, 1 and 2 (coordinates: randomSubset)`],
  },
  'block-moves': {
    label: 'RSO, block moves (batch 1000)',
    config: () => ({ moves: rso.channelBlocks() }),
    batchSize: () => PAPER_BATCH,
    runCycles: RUN_CYCLES,
    settings: { batchSize: PAPER_BATCH, moves: 'channelBlocks(): norm 1' },
    deviations: ['each kernel step moves all the weights feeding the output channel of the scalar under the cursor, along one random direction of the same expected length'],
  },
  // Exploratory runs that chose the fast preset (7-minute sittings).
  'blocks-250': {
    label: 'probe: batch 250 + block moves',
    config: () => ({ moves: rso.channelBlocks() }),
    batchSize: () => 250,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
  'blocks-adaptive-250': {
    label: 'probe: batch 250 + block moves + 1/5th rule',
    config: () => ({ moves: rso.channelBlocks(), sigmaAdaptation: rso.successRule() }),
    batchSize: () => 250,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
  'blocks-250-8-steps': {
    label: 'probe: batch 250 + block moves + 8 steps per batch',
    config: () => ({ moves: rso.channelBlocks(), stepsPerBatch: 8 }),
    batchSize: () => 250,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
  'blocks-250-quarter': {
    label: 'probe: batch 250 + block moves + random quarter per cycle',
    config: () => ({ moves: rso.channelBlocks(), coordinates: rso.randomSubset({ fraction: 0.25 }), cycles: 20 }),
    batchSize: () => 250,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
  'schedule-adaptive-10': {
    label: 'probe: schedule 250/500/1000 + 1/5th rule + σ over 10 cycles',
    config: () => ({ sigmaAdaptation: rso.successRule(), cycles: 10 }),
    batchSize: batchSchedule,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
  'adaptive-200': {
    label: 'probe: batch 200 + 1/5th rule',
    config: () => ({ sigmaAdaptation: rso.successRule() }),
    batchSize: () => 200,
    runCycles: RUN_CYCLES,
    settings: {},
    deviations: [],
  },
};

export const GRADIENT_VARIANTS: Readonly<Record<string, GradientVariant>> = {
  sgd: { label: 'SGD (batch 128, lr 0.05)', optimizer: () => tf.train.sgd(0.05), batchSize: 128, settings: { batchSize: 128, lr: 0.05 } },
  adam: { label: 'Adam (batch 128, lr 0.001)', optimizer: () => tf.train.adam(0.001), batchSize: 128, settings: { batchSize: 128, lr: 0.001 } },
};

/** One line per variant: its name, label and deviations from the paper. */
export function describeVariants(): string {
  const lines = Object.entries(RSO_VARIANTS).map(([k, v]) => `  ${k.padEnd(16)} ${v.label}${v.deviations.length === 0 ? '' : `; deviations: ${v.deviations.join('; ')}`}`);
  const grads = Object.entries(GRADIENT_VARIANTS).map(([k, v]) => `  ${k.padEnd(16)} ${v.label}`);
  return ['variants:', ...lines, ...grads].join('\n');
}
