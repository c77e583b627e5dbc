/**
 * The feature table: one row per built-in policy, per notable option, and per user-written policy
 * (tests/user-policies.ts). tests/features.test.ts runs the same cross-feature checks on every row (config round
 * trip, save, load and continue, 2 threads ≡ 1 thread, model engine ≡ closure path), and checks that every
 * registered policy has a row. A new policy adds a row
 * here, not a test file.
 *
 * Each row's options are in the JSON form a saved config holds (`{ name, ...params }`), with values away from the
 * defaults, so that a parameter lost on the way through a saved config shows in the round trip and changes the
 * resumed run.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RSOConfig } from '../src/index.js';
import { tinyMlp, tinyResidual } from './helpers.js';
import { NAMED_KERNELS, namedConvSeq, scrambledCosts } from './quantize-models.js';
import { USER_POLICIES } from './user-policies.js';

/** A row of the table. */
export interface FeatureRow {
  readonly name: string;
  /** Optimizer options beyond {@link FEATURE_BASE}, in saved-config form. */
  readonly config: RSOConfig;
  /** The net (default tinyMlp(2) on 8 features). */
  readonly model?: FeatureModel;
  /** Mini-batch of every run (default 16, of {@link ROWS_OF_DATA} rows). */
  readonly batchSize?: number;
  /**
   * Its steps often tie exactly (a grid flip that changes nothing, a σ below float32's resolution), so runs on
   * different arithmetic (threads, engines) may part at any step, where float rounding decides a tie: they are
   * compared up to that step, and a seeded 2-thread run must also repeat itself step for step. Otherwise they
   * must agree for at least {@link MIN_SHARED} steps.
   */
  readonly exactTies?: boolean;
  /**
   * Relative tolerance of the candidate losses and the final weights across arithmetic (default 1e-5). Probe reuse
   * puts the weight at the vertex through the three losses, dividing by their curvature, so their rounding moves
   * the weights and the runs drift apart slowly.
   */
  readonly tolerance?: number;
  /** Whether it trains under `minimize` (`model.fit`, `trainOnBatch`); default true. */
  readonly minimize?: boolean;
  /** Modules that register the row's user-written policies, imported here and by every worker thread. */
  readonly modules?: readonly URL[];
}

/** A net and the shape of one example. */
export interface FeatureModel {
  readonly build: () => tfl.LayersModel;
  readonly features: readonly number[];
}

export const MLP: FeatureModel = { build: () => tinyMlp(2), features: [8] };
/** tinyConvSeq with fixed layer names, for the options that name tensors. */
export const NAMED_CONV: FeatureModel = { build: () => namedConvSeq(2), features: [6, 6, 1] };
/** A functional conv net with BN and a residual add. */
export const RESIDUAL: FeatureModel = { build: () => tinyResidual(4), features: [6, 6, 1] };

/** The options every row starts from (seed 31; few cycles so that the σ schedule moves within a run). */
export const FEATURE_BASE = { seed: 31, cycles: 4 } as const;
/** Rows of the seeded toy data, steps of every run, and where save and load cut a run (mid-cycle). */
export const ROWS_OF_DATA = 64;
export const FEATURE_STEPS = 100;
export const FEATURE_SPLIT = 47;
/** Steps two runs on different arithmetic must share before a near-tie may part them (unless `exactTies`). */
export const MIN_SHARED = 25;

const ranked = { name: 'rankedSubset', fraction: 0.4, tensors: NAMED_KERNELS.map((k, i) => ({ name: k.name, costs: scrambledCosts(k.size, i) })) };
const fitted = {
  name: 'fitted',
  bits: 3,
  tensors: [
    // Steps that float32 holds exactly, as the grid stores them.
    { name: 'q_conv1/kernel', steps: [0.125, 0.1875, 0.25] },
    { name: 'q_conv2/kernel', steps: [0.0625, 0.09375, 0.125] },
    { name: 'q_dense/kernel', steps: [0.25, 0.375, 0.5] },
  ],
};

export const FEATURES: readonly FeatureRow[] = [
  // σ schedules over the cycles.
  { name: 'schedule constant', config: { sigma: { name: 'constant', value: 0.5 } } },
  { name: 'schedule linear', config: { sigma: { name: 'linear', from: 2, to: 0.3, steps: 3 } } },
  { name: 'schedule cosine', config: { sigma: { name: 'cosine', from: 1.5, to: 0.2 } } },
  { name: 'schedule exponential', config: { sigma: { name: 'exponential', from: 1.2, rate: 0.7 } } },
  { name: 'schedule piecewise', config: { sigma: { name: 'piecewise', boundaries: [1, 2], values: [1, 0.5, 0.25] } } },
  // Perturbation distributions.
  { name: 'distribution normal', config: { distribution: { name: 'normal' } } },
  { name: 'distribution uniform', config: { distribution: { name: 'uniform' } } },
  { name: 'distribution laplace', config: { distribution: { name: 'laplace' } } },
  { name: 'distribution rademacher', config: { distribution: { name: 'rademacher' } } },
  { name: 'distribution discrete', config: { distribution: { name: 'discrete', values: [-2, -0.5, 0.5, 2] } } },
  // Layer orders.
  { name: 'layer order outputToInput', config: { layerOrder: { name: 'outputToInput' } } },
  { name: 'layer order inputToOutput', config: { layerOrder: { name: 'inputToOutput' } } },
  { name: 'layer order shuffled', config: { layerOrder: { name: 'shuffled' } } },
  // Base σ rules, and a fixed σ for BN parameters.
  { name: 'σ rule initStd', config: { sigmaBase: { name: 'initStd', constant: 0.8 } } },
  { name: 'σ rule he', config: { sigmaBase: { name: 'he', constant: 0.5 } } },
  { name: 'σ rule fixed, BN σ', config: { sigmaBase: { name: 'fixed', value: 0.05 }, bnSigma: 0.167 } },
  // Coordinates: which scalars a cycle visits.
  { name: 'coordinates fullSweep', config: { coordinates: { name: 'fullSweep' } } },
  { name: 'coordinates randomSubset, a share per group', config: { coordinates: { name: 'randomSubset', fraction: [0.5, 0.25, 1] } } },
  { name: 'coordinates rankedSubset', config: { coordinates: ranked }, model: NAMED_CONV },
  // Acceptance, and the optimizer's own options.
  { name: 'acceptance greedy', config: { acceptance: { name: 'greedy' } } },
  { name: 'weight decay, BN searched on its own', config: { weightDecay: 1e-3, mergeNormalization: false } },
  { name: 'shuffled order, random subset and weight decay on a residual conv net', config: { layerOrder: { name: 'shuffled' }, coordinates: { name: 'randomSubset', fraction: 0.8 }, weightDecay: 1e-4 }, model: RESIDUAL },
  { name: 'steps per batch from a schedule', config: { stepsPerBatch: { name: 'piecewise', boundaries: [2], values: [1, 3] } } },
  // Weight grids: one for every kernel, and a list of grids over named layers.
  // A binary flip that changes nothing is an exact tie.
  { name: 'grid binary', config: { grid: [{ name: 'binary', stds: 1.5 }] }, exactTies: true },
  { name: 'grid ternary', config: { grid: [{ name: 'ternary', a: 0.2 }] } },
  { name: 'grid uniform', config: { grid: [{ name: 'uniform', bits: 3, stds: 2 }] } },
  { name: 'grid fitted, a step per output channel', config: { grid: [fitted] }, model: NAMED_CONV },
  { name: 'grids by layer: binary and 2-bit', config: { grid: [{ name: 'binary', stds: 1, layers: [{ name: 'q_conv1' }] }, { name: 'uniform', bits: 2, stds: 3, layers: [{ name: 'q_dense/kernel' }] }] }, model: NAMED_CONV, exactTies: true },
  // σ adaptation. From a σ below float32's resolution, every step ties until tieWidening has widened σ.
  { name: 'σ adaptation successRule', config: { sigmaAdaptation: { name: 'successRule', target: 0.3, window: 6, factor: 1.5, min: 0.1, max: 8 } } },
  { name: 'σ adaptation tieWidening', config: { sigmaAdaptation: { name: 'tieWidening', factor: 3, window: 2, min: 0.5, max: 30 } } },
  { name: 'σ adaptation tieWidening from σ = 1e-12', config: { sigmaBase: { name: 'fixed', value: 1e-12 }, sigmaAdaptation: { name: 'tieWidening', factor: 1e11, window: 1, max: 1e11 } }, exactTies: true },
  // Moves: blocks of weights per step.
  { name: 'moves channelBlocks', config: { moves: { name: 'channelBlocks', norm: 2 } } },
  { name: 'moves unitMoves', config: { moves: { name: 'unitMoves', norm: 1.5 } } },
  { name: 'moves sparseDirection', config: { moves: { name: 'sparseDirection', k: 3, norm: 2 } } },
  { name: 'moves channelBlocks on conv kernels', config: { moves: { name: 'channelBlocks', norm: 1 } }, model: NAMED_CONV },
  { name: 'moves unitMoves on conv kernels', config: { moves: { name: 'unitMoves', norm: 1 } }, model: NAMED_CONV },
  { name: 'moves sparseDirection on conv kernels', config: { moves: { name: 'sparseDirection', k: 4, norm: 1 } }, model: NAMED_CONV },
  // Probe reuse, and early rejection (stages of a larger batch; at least 2 examples per thread; it needs the
  // per-example losses of rso.fit, so minimize refuses it).
  { name: 'probe reuse parabolicStep', config: { probeReuse: { name: 'parabolicStep', maxStep: 1.5 } }, tolerance: 1e-3 },
  { name: 'probe reuse with channelBlocks', config: { probeReuse: { name: 'parabolicStep', maxStep: 1 }, moves: { name: 'channelBlocks', norm: 1 } }, tolerance: 1e-3 },
  { name: 'early rejection', config: { earlyRejection: { name: 'earlyRejection', stages: [0.25, 0.5, 1], errorRate: 0.2, minExamples: 8 } }, batchSize: 64, minimize: false },
  // User-written policies (tests/user-policies.ts), registered in every thread through `modules`.
  { name: 'probe reuse, user-written partWayToBest', config: { probeReuse: { name: 'partWayToBest', fraction: 0.25 } }, modules: [USER_POLICIES] },
  { name: 'acceptance, user-written thinnedGreedy with a saved state', config: { acceptance: { name: 'thinnedGreedy', every: 3 } }, modules: [USER_POLICIES] },
  { name: 'early rejection, user-written meanMargin', config: { earlyRejection: { name: 'meanMargin', margin: 0.002, share: 0.375 } }, batchSize: 64, minimize: false, modules: [USER_POLICIES] },
];
