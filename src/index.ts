import './policies/schedules/index.js';
import './policies/distributions/index.js';
import './policies/layer-order/index.js';
import './policies/sigma/index.js';
import './policies/coordinates/index.js';
import './policies/acceptance/index.js';

export { RSOOptimizer } from './optimizer/rso-optimizer.js';
export { PAPER_CYCLES } from './optimizer/config.js';
export type { RSOConfig, ResolvedConfig } from './optimizer/config.js';
export type { NamedTensor } from './optimizer/rso-optimizer.js';
export type { StepResult } from './search/rso-search.js';
export type { SearchState } from './search/search-state.js';
export { createRng, restoreRng } from './search/rng.js';
export type { Rng, RngState } from './search/rng.js';
export type { WeightGroup, WeightRole, WeightTensorInfo } from './search/weight-groups.js';
export type { CandidateEvaluator } from './engine/evaluator.js';

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
export { fullSweep, randomSubset } from './policies/coordinates/index.js';
export type { CoordinateContext, CoordinateSelection } from './policies/coordinates/index.js';
export { greedyAcceptance } from './policies/acceptance/index.js';
export type { AcceptanceRule } from './policies/acceptance/index.js';

export { registerWasmConv2DBackpropFilter, registerWasmTrainingKernels } from './kernels/conv2d-backprop-filter-wasm.js';
export { reestimateBatchNorm } from './train/batch-norm.js';
export { evaluateModel } from './train/fit.js';
export type { Evaluation, RSOCallbacks, RSOFitArgs } from './train/fit.js';
export type { LossSpec } from './train/losses.js';

export { parseIdx } from './data/idx.js';
export type { IdxArray, IdxData, IdxDType } from './data/idx.js';
export { loadMnist, mnistMean, mnistToTensors } from './data/mnist.js';
export type { LoadMnistOptions, MnistData, MnistSplit, MnistTensors, MnistToTensorsOptions } from './data/mnist.js';
export { CIFAR10_CLASSES, cifar10ChannelMeans, cifar10ToTensors, loadCifar10, parseCifar10Batch } from './data/cifar10.js';
export type { Cifar10ChannelMeans, Cifar10Data, Cifar10Split, Cifar10Tensors, Cifar10ToTensorsOptions, LoadCifar10Options } from './data/cifar10.js';
export { createMnistNet, MNIST_NET_COUNTS } from './models/mnist-net.js';
export type { MnistNetOptions } from './models/mnist-net.js';
export { createCifarNet, CIFAR_NET_COUNTS } from './models/cifar-net.js';
export type { CifarNetOptions } from './models/cifar-net.js';
