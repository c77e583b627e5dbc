import './policies/schedules/index.js';
import './policies/distributions/index.js';
import './policies/layer-order/index.js';
import './policies/sigma/index.js';
import './policies/coordinates/index.js';
import './policies/acceptance/index.js';
import './policies/grids/index.js';
import './policies/sigma-adaptation/index.js';
import './policies/early-rejection/index.js';

export { RSOOptimizer } from './optimizer/rso-optimizer.js';
export { MAX_CYCLES, PAPER_CYCLES } from './config/config.js';
export type { RSOConfig, ResolvedConfig } from './config/config.js';
export type { NamedTensor } from './optimizer/rso-optimizer.js';
export type { BlockMove, Move, StepResult } from './search/rso-search.js';
export type { SearchState } from './base/search-state.js';
export { createRng, restoreRng } from './base/rng.js';
export type { Rng, RngState } from './base/rng.js';
export type { WeightGroup, WeightRole, WeightTensorInfo } from './base/weight-groups.js';
export type { BlockEvaluator, CandidateEvaluator } from './engine/evaluator.js';
export { stageCounts } from './train/stage-counts.js';
export type { StageCounts } from './train/stage-counts.js';
export type { ShardData, ShardPool, ShardStartArgs, ShardedOptimizer, WorkerPool } from './engine/shard-pool.js';
export type { SearchSnapshot } from './search/snapshot.js';
export type { EncodedPart, PartValues, PolicyState, StatePart } from './base/state-codec.js';
export type { ShardReducer } from './engine/reducer.js';

export { POLICY_KINDS, registerPolicy, createPolicy, policyNames } from './policies/registry.js';
export type { ConfigValue, Configurable, PolicyConfig, PolicyFactory, PolicyKind, RegisterPolicyOptions } from './policies/registry.js';
export { constantSchedule, cosineSchedule, exponentialSchedule, linearSchedule, piecewiseSchedule } from './policies/schedules/index.js';
export type { Schedule } from './policies/schedules/index.js';
export {
  discreteDistribution,
  laplaceDistribution,
  normalDistribution,
  rademacherDistribution,
  uniformDistribution,
} from './policies/distributions/index.js';
export type { PerturbationDistribution } from './policies/distributions/index.js';
export { inputToOutput, outputToInput, shuffledOrder } from './policies/layer-order/index.js';
export type { LayerOrder, LayerOrderContext, LayerOrderGroup } from './policies/layer-order/index.js';
export { fixedSigma, heSigma, initStdSigma, SCRIPT_BN_SIGMA } from './policies/sigma/index.js';
export type { SigmaRule, SigmaTensor } from './policies/sigma/index.js';
export { fullSweep, randomSubset, rankedSubset } from './policies/coordinates/index.js';
export type { CoordinateContext, CoordinateSelection, RandomSubsetOptions, RankedSubsetOptions, RankedTensor } from './policies/coordinates/index.js';
export { greedyAcceptance } from './policies/acceptance/index.js';
export type { AcceptanceRule } from './policies/acceptance/index.js';
export { binaryGrid, fittedGrid, ternaryGrid, uniformGrid } from './policies/grids/index.js';
export { successRule, tieWidening } from './policies/sigma-adaptation/index.js';
// Every move policy and its options, as policies/moves/index.ts lists them.
export * from './policies/moves/index.js';
export { fastPreset } from './config/presets.js';
export type { RSOPreset } from './config/presets.js';
export type { SigmaAdaptation, SuccessRuleOptions, TieWideningOptions } from './policies/sigma-adaptation/index.js';
export { earlyRejection, pairedZ } from './policies/early-rejection/index.js';
export { parabolicStep } from './policies/probe-reuse/index.js';
export type { ParabolicStepOptions, ProbeReuse } from './policies/probe-reuse/index.js';
export type { EarlyRejection, EarlyRejectionOptions, PlannedStage } from './policies/early-rejection/index.js';
export type { FittedGridOptions, FittedSteps, GridOptions, LayerName, UniformGridOptions, WeightGrid } from './policies/grids/index.js';
export { fitScale, roundingError } from './quantize/fit-scale.js';
export type { FittedScale, ScaleFit } from './quantize/fit-scale.js';
export { dequantize, quantizeModel, quantizedGrid, quantizeTensor } from './quantize/quantize-model.js';
export { quantizeCalibrated } from './quantize/calibrate.js';
export type { CalibrateOptions } from './quantize/calibrate.js';
export { roundingOrder } from './quantize/rounding-order.js';
export type { RoundingOrderOptions } from './quantize/rounding-order.js';
export type { HeldWeight, QuantizedKernel, QuantizedModel, QuantizeOptions, WeightsHolder } from './quantize/quantize-model.js';
export { PACKED_FORMAT_VERSION, float16Round, packTensors, packedCodeBytes, unpackTensors } from './quantize/pack.js';
export type { CodedTensor, FloatTensor, PackOptions, PackedTensor } from './quantize/pack.js';
export { loadPackedModel, packModel, packedValues, roundForPacking, setPackedWeights } from './quantize/packed-model.js';
export type { RoundedWeight } from './quantize/packed-model.js';
export { repairQuantized } from './optimizer/repair-quantized.js';
export type { RepairQuantizedOptions, RepairQuantizedResult } from './optimizer/repair-quantized.js';
export { exportQuantized } from './optimizer/export-quantized.js';
export type { QuantizedTensor } from './optimizer/export-quantized.js';
export type { TensorGrid } from './search/tensor-grids.js';

export { registerWasmConv2DBackpropFilter, registerWasmTrainingKernels } from './kernels/conv2d-backprop-filter-wasm.js';
export { reestimateBatchNorm } from './base/batch-norm.js';
export { evaluateModel } from './train/evaluate.js';
export type { Evaluation } from './train/evaluate.js';
export type { RSOCallbacks, RSOFitArgs, TensorsOrMap } from './train/fit-args.js';
export type { LossName, LossSpec } from './train/losses.js';
export { LOSS_NAMES } from './train/losses.js';
