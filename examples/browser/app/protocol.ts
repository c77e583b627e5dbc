/** Messages between the demo page and its training workers, one worker per trainer. */

/**
 * Which network a run trains: the small conv net (tab 1), the hard-threshold net (tab 2), or the committed float
 * MNIST model that tab 3 quantizes and repairs.
 */
export type Task = 'conv' | 'threshold' | 'shrink';
/** The trainer of a run: `shrink` quantizes the float model and repairs it with RSO on the grid. */
export type Trainer = 'rso' | 'adam' | 'shrink';
/** The built-in σ schedules the page offers, by registry name. */
export type SigmaName = 'linear' | 'cosine' | 'exponential' | 'constant';

/** Everything a worker needs to start (or, with `resume`, to continue a saved run). */
export interface RunSpec {
  readonly task: Task;
  readonly trainer: Trainer;
  readonly backend: string;
  readonly batchSize: number;
  readonly sigma: SigmaName;
  readonly seed: number;
  /** The run ends when the optimizer's step count reaches this. */
  readonly maxSteps: number;
  /** Test accuracy every this many steps. */
  readonly evalEvery: number;
  /** Load the model saved under {@link SAVE_URL} and continue it. */
  readonly resume: boolean;
  /** The shrink tab: bits per weight (1 binary, 2 ternary, 3, 4); default 2. */
  readonly bits?: number;
}

/** Where the demo's build puts the committed float MNIST model (model.json beside weights.bin). */
export const FLOAT_MODEL_URL = 'float-model/model.json';

/** Where "Save model" stores the model with its optimizer state. */
export const SAVE_URL = 'indexeddb://tfjs-rso-demo';

/** Page → worker. */
export type Command =
  /** `pauseAt`: pause when the run reaches this step (see {@link Command} `pauseAt`). */
  | { readonly type: 'start'; readonly spec: RunSpec; readonly pauseAt?: number }
  | { readonly type: 'pause' }
  /** Pause at the first step boundary at or after `step`, so a pause can be placed exactly, ahead of time. */
  | { readonly type: 'pauseAt'; readonly step: number }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  | { readonly type: 'save' };

/** Worker → page. `seconds` counts training time only: not paused time, not evaluations. */
export type Report =
  | { readonly type: 'ready'; readonly backend: string; readonly step: number; readonly threads: number }
  | { readonly type: 'loss'; readonly step: number; readonly seconds: number; readonly loss: number }
  | { readonly type: 'accuracy'; readonly step: number; readonly seconds: number; readonly acc: number; readonly loss: number }
  | { readonly type: 'paused'; readonly step: number }
  | { readonly type: 'resumed'; readonly step: number }
  | { readonly type: 'saved'; readonly step: number }
  /** The shrink tab's table, a few entries at a time, as the run measures them. */
  | { readonly type: 'table'; readonly table: Partial<ShrinkTable> }
  | { readonly type: 'done'; readonly result: RunResult }
  | { readonly type: 'error'; readonly message: string };

/** The end of a run: what the browser test checks. */
export interface RunResult {
  readonly step: number;
  readonly startStep: number;
  readonly seconds: number;
  readonly stopped: boolean;
  /** Every trainable weight, concatenated in variable order. */
  readonly weights: Float32Array;
  /** tf.memory().numTensors after the run minus before it. */
  readonly leaked: number;
  /** Every test of the run: at its first step, every `evalEvery` steps and at its last step. */
  readonly tests: readonly TestPoint[];
  /** A shrink run's table and its packed file (after the repair). */
  readonly shrink?: { readonly table: ShrinkTable; readonly packed: Uint8Array };
}

/** What the shrink tab shows: test accuracy and bytes of the float model and of its quantized copies. */
export interface ShrinkTable {
  /** Bits per weight of the quantized kernels. */
  readonly bits: number;
  /** Test accuracy of the float model as loaded (its own BN statistics). */
  readonly floatAcc: number;
  /** Bytes of its weights.bin (every weight in float32), as downloaded. */
  readonly floatBytes: number;
  /**
   * Bytes of a converter-style uint8 copy (tfjs-converter's uint8 weight quantization): one byte per weight,
   * plus a float32 min and scale per tensor.
   */
  readonly uint8Bytes: number;
  /** Test accuracy rounded to nearest, before the repair (BN statistics re-estimated), as exported: after `roundForPacking`. */
  readonly roundedAcc: number;
  /**
   * Test accuracy of `quantizeCalibrated`'s codes (chosen layer by layer on training images), the repair's start,
   * as exported: BN statistics re-estimated, after `roundForPacking`.
   */
  readonly calibratedAcc: number;
  /** Bytes of `packModel(model, q, { names: false, float16: true })` before the repair. */
  readonly packedBytesBefore: number;
  /** Test accuracy after the repair, as exported: after `roundForPacking`. */
  readonly repairedAcc: number;
  /** Bytes of `packModel(model, q, { names: false, float16: true })` after the repair. */
  readonly packedBytesAfter: number;
  /** `loadPackedModel(model.toJSON(), file)` predicts the test images exactly as the repaired, rounded model does. */
  readonly reloadMatches: boolean;
}

/** Test accuracy and mean test loss at a step. */
export interface TestPoint {
  readonly step: number;
  readonly acc: number;
  readonly loss: number;
}
