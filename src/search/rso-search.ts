import { sigmaFactor, stepsOfBatch } from '../config/config.js';
import type { ResolvedConfig } from '../config/config.js';
import type { SigmaTensor } from '../policies/sigma/index.js';
import type { MovePolicy } from '../policies/moves/index.js';
import { isSigma, SIGMA_RANGE } from '../base/validate.js';
import { createRng, restoreRng } from '../base/rng.js';
import type { Rng, RngState } from '../base/rng.js';
import { checkSearchState } from '../base/search-state.js';
import type { SearchState } from '../base/search-state.js';
import { SigmaAdapter, sigmaAdaptationPart } from './sigma-adapter.js';
import { decodePart } from '../base/state-codec.js';
import type { PolicyState } from '../base/state-codec.js';
import { decodePolicies, encodePolicies, policyStates } from './state-parts.js';
import { assignGrids, gridCandidates, stepAt } from './tensor-grids.js';
import type { TensorGrid } from './tensor-grids.js';
import { groupWeights, searchOrderToFlat } from '../base/weight-groups.js';
import type { WeightGroup, WeightTensorInfo } from '../base/weight-groups.js';

/**
 * One step's move: the scalars of one tensor it changes, and their values in each candidate. A scalar step is a move
 * of one scalar; a block move (a {@link MovePolicy}) moves several. Every step is proposed, evaluated, decided and
 * recorded as a move.
 */
export interface Move {
  /** Index of the tensor in the variable list. */
  readonly tensor: number;
  /** Row-major indices of the moved scalars in the tensor, the step's `flat` among them (alone for a scalar step). */
  readonly flats: Int32Array;
  /**
   * The step's perturbation per scalar, already scaled (σ, the cycle's factor, the move's norm): candidate 1 is
   * w + direction and candidate 2 is w − direction, where those are finite in float32. On a weight grid, the grid step.
   */
  readonly direction: Float64Array;
  /** The scalars' values before the step. */
  readonly previous: Float32Array;
  /** The scalars' values for each candidate: W, W + Δ and W − Δ (W after weight decay); on a grid, the levels. */
  readonly candidates: readonly Float32Array[];
}

/** The weights a block move changes, and their values per candidate: the step's {@link Move}. */
export type BlockMove = Move;

/** What one RSO step did. */
export interface StepResult {
  /** Index of the tensor in the variable list, and the row-major index of the scalar. */
  readonly tensor: number;
  /** Row-major index of the scalar inside its tensor. */
  readonly flat: number;
  /** The losses of w, w + Δ and w − Δ. */
  readonly losses: ArrayLike<number>;
  /** The candidate kept: 0 (w), 1 (w + Δ) or 2 (w − Δ). */
  readonly accepted: number;
  /** The perturbation Δ, already scaled by σ and the cycle's factor. */
  readonly delta: number;
  /** The cycle the step belonged to. */
  readonly cycle: number;
  /** The step count before the step (0 for the first step). */
  readonly step: number;
  /** The scalar's value before the step (before weight decay). */
  readonly previous: number;
  /** The step's move: the scalars it changed (one for a scalar step), with their candidates. */
  readonly move: Move;
  /**
   * The values written to the move's scalars (in the order of `move.flats`): `move.candidates[accepted]`, or with
   * {@link RSOConfig.probeReuse} the values it chose along the step's direction.
   */
  readonly values: Float32Array;
  /** The value written to scalar `flat`: its entry of `values`. */
  readonly value: number;
  /** The move when it is a block move (a move policy's block), or null for a scalar step. */
  readonly block: BlockMove | null;
  /** `values` for a block move; null for a scalar step. */
  readonly blockValues: Float32Array | null;
}

/** A step's candidates, as {@link RSOSearch.ask} proposes them. */
export interface StepProposal {
  /** Index of the tensor in the variable list. */
  readonly tensor: number;
  /** Row-major index of the scalar inside its tensor. */
  readonly flat: number;
  /** The scalar's value before the step. */
  readonly previous: number;
  /** The perturbation Δ, scaled by σ and the cycle's factor; on a weight grid, the grid step. */
  readonly delta: number;
  /**
   * w, w + Δ, w − Δ (w after weight decay), rounded to float32; on a weight grid, w and its neighbours. For a block
   * move, the values of scalar `flat` in each candidate. A candidate that is not finite in float32 is replaced by
   * w, so it ties and is never kept.
   */
  readonly candidates: Float32Array;
  /** The step's move: the scalars it changes (one for a scalar step), with their candidates. */
  readonly move: Move;
  /** The move when it is a block move, or null for a scalar step. */
  readonly block: BlockMove | null;
}

/**
 * A scalar step's proposal. Its move, a block of one, is built only when asked for: the scalar step is the search's
 * hot path, and the runner takes it through the evaluator's one-scalar methods.
 */
class ScalarProposal implements StepProposal {
  readonly block = null;
  private move_: Move | null = null;

  constructor(
    readonly tensor: number,
    readonly flat: number,
    readonly previous: number,
    readonly delta: number,
    readonly candidates: Float32Array,
  ) {}

  get move(): Move {
    this.move_ ??= {
      tensor: this.tensor,
      flats: Int32Array.of(this.flat),
      direction: Float64Array.of(this.delta),
      previous: Float32Array.of(this.previous),
      candidates: Array.from(this.candidates, (c) => Float32Array.of(c)),
    };
    return this.move_;
  }
}

/** A block move's proposal: its move is the block. */
function proposalOfBlock(flat: number, at: number, delta: number, move: Move): StepProposal {
  const candidates = Float32Array.from(move.candidates, (c) => c[at]!);
  return { tensor: move.tensor, flat, previous: move.previous[at]!, delta, candidates, move, block: move };
}

/** A told step: the proposal's move with the values kept. */
class Step implements StepResult {
  readonly tensor: number;
  readonly flat: number;
  readonly delta: number;
  readonly previous: number;
  readonly block: BlockMove | null;

  constructor(
    private readonly proposal: StepProposal,
    readonly losses: ArrayLike<number>,
    readonly accepted: number,
    readonly cycle: number,
    readonly step: number,
    readonly value: number,
    readonly blockValues: Float32Array | null,
  ) {
    this.tensor = proposal.tensor;
    this.flat = proposal.flat;
    this.delta = proposal.delta;
    this.previous = proposal.previous;
    this.block = proposal.block;
  }

  get move(): Move {
    return this.proposal.move;
  }

  get values(): Float32Array {
    return this.blockValues ?? Float32Array.of(this.value);
  }
}

/**
 * w + t · Δ for candidates (w, w + Δ, w − Δ), rounded to float32; where that is not finite in float32, the
 * accepted candidate (finite, see {@link finiteCandidates}).
 */
function along(candidates: ArrayLike<number>, t: number, accepted: number): number {
  const v = Math.fround(candidates[0]! + t * (candidates[1]! - candidates[0]!));
  return Number.isFinite(v) ? v : candidates[accepted]!;
}

/** {@link along} for each scalar of a block. */
function alongBlock(candidates: readonly Float32Array[], t: number, accepted: number): Float32Array {
  const [w, plus] = candidates as readonly [Float32Array, Float32Array];
  const kept = candidates[accepted]!;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    out[i] = w[i]! + t * (plus[i]! - w[i]!);
    if (!Number.isFinite(out[i]!)) out[i] = kept[i]!;
  }
  return out;
}

/**
 * Puts candidate 0 (the current value) in place of every candidate that is not finite after float32 rounding:
 * an infinite or NaN draw, or a finite one that overflows float32 once scaled by σ or added to w. Such a
 * candidate then ties with w and is never kept, so no weight becomes infinite or NaN (a dead unit behind a ReLU
 * would otherwise accept it without any change in the loss).
 */
function finiteCandidates(candidates: Float32Array): void {
  for (let k = 1; k < candidates.length; k++) {
    if (!Number.isFinite(candidates[k]!)) candidates[k] = candidates[0]!;
  }
}

/** The coordinate to visit next, with its perturbation. */
interface Proposal {
  readonly tensor: number;
  readonly flat: number;
  readonly sigma: number;
}

/**
 * The RSO search core, ask/tell: {@link RSOSearch.ask} proposes a step's candidates, the caller evaluates
 * them however it likes, and {@link RSOSearch.tell} applies the acceptance rule and advances the state. It never
 * calls an evaluator and knows nothing about tfjs. {@link runBatch} drives it with a {@link CandidateEvaluator}.
 */
export class RSOSearch {
  readonly config: ResolvedConfig;
  private rng: Rng;
  private cycle_ = 0;
  private group_ = 0;
  private index_ = 0;
  private step_ = 0;
  private batch_ = 0;
  private tensors: readonly WeightTensorInfo[] = [];
  private groups: readonly WeightGroup[] = [];
  private sigmas: Float32Array | null = null;
  private grids: readonly (TensorGrid | null)[] = [];
  private adapter: SigmaAdapter | null = null;
  // The states the config's policies declare (none in most runs); the policies hold the values.
  private readonly policyStates: readonly PolicyState<unknown>[];
  // A state restored before binding: its cursor and σ adaptation are checked against the tensors, and the
  // adaptation decoded, when the search binds.
  private restored: SearchState | null = null;
  // Per-cycle caches, recomputed from (cycle, seed) so they never need saving.
  private orderCycle = -1;
  private order: readonly number[] = [];
  private factor = 1;
  private selectionKey = '';
  private selection: Int32Array | null = null;
  // The step asked and not yet told, with the generator state before it.
  private pending: { readonly proposal: StepProposal; readonly rngBefore: RngState } | null = null;
  // Scratch for checking a block's indices are distinct: index i is taken when blockMarks[i] === blockMark.
  private blockMarks = new Int32Array(0);
  private blockMark = 0;

  constructor(config: ResolvedConfig) {
    this.config = config;
    this.rng = createRng(config.seed);
    this.policyStates = policyStates(config);
    for (const s of this.policyStates) s.set(s.init());
  }

  /** True once tensors are bound. */
  get bound(): boolean {
    return this.sigmas !== null && this.tensors.length > 0;
  }

  get cycle(): number {
    return this.cycle_;
  }

  get step(): number {
    return this.step_;
  }

  get batch(): number {
    return this.batch_;
  }

  /** Number of scalars one full cycle visits (before coordinate selection). */
  get scalarsPerCycle(): number {
    return this.groups.reduce((s, g) => s + g.size, 0);
  }

  get weightGroups(): readonly WeightGroup[] {
    return this.groups;
  }

  get tensorInfo(): readonly WeightTensorInfo[] {
    return this.tensors;
  }

  /** The grid of each bound tensor, or null for a continuous one (empty before binding). */
  get tensorGrids(): readonly (TensorGrid | null)[] {
    return this.grids;
  }

  /** Base σ per tensor, or null before binding. */
  get baseSigmas(): Float32Array | null {
    return this.sigmas;
  }

  /**
   * Binds the search to a list of tensors. σ is computed from `values` unless restored sigmas exist.
   *
   * @throws RangeError when there is nothing to search, or the restored σ or cursor do not fit the tensors. The
   *   messages name no public method: the caller adds where the user called it.
   */
  bind(tensors: readonly WeightTensorInfo[], values: (i: number) => Float32Array, restoredSigmas: Float32Array | null): void {
    if (tensors.length === 0 || tensors.every((t) => t.size === 0)) {
      throw new RangeError('the model has no trainable weights (0 trainable scalars); nothing to search');
    }
    if (restoredSigmas !== null && restoredSigmas.length !== tensors.length) {
      throw new RangeError(`the restored state holds σ for ${restoredSigmas.length} tensors, the model has ${tensors.length} trainable tensors`);
    }
    this.tensors = tensors;
    this.groups = groupWeights(tensors, this.config.mergeNormalization);
    this.orderCycle = -1;
    this.selectionKey = '';
    try {
      this.sigmas = restoredSigmas ?? this.computeSigmas(values);
      this.grids = assignGrids(this.config.grids, tensors, this.sigmas);
      this.adapter = this.makeAdapter(this.restored?.adapt);
      if (this.restored !== null) this.checkCursor('the restored state');
      this.restored = null;
    } catch (e) {
      this.tensors = [];
      this.groups = [];
      this.sigmas = null;
      this.grids = [];
      this.adapter = null;
      throw e;
    }
  }

  /**
   * The adaptation state for the bound tensors: decoded from `encoded` through its part (checked), or fresh; null
   * without adaptation.
   */
  private makeAdapter(encoded: Float32Array | undefined): SigmaAdapter | null {
    const rule = this.config.sigmaAdaptation;
    if (rule === null) return null;
    const n = this.tensors.length;
    return encoded === undefined ? SigmaAdapter.fresh(rule, n) : decodePart(sigmaAdaptationPart(rule, n), encoded);
  }

  /** Checks that the cursor (group, index) points into the bound groups; called once per restore or bind. */
  private checkCursor(where: string): void {
    const n = this.groups.length;
    if (this.group_ >= n) {
      throw new RangeError(`${where}: cursor group ${this.group_} is out of range; the model has ${n} weight groups (0…${n - 1})`);
    }
    this.startCycle();
    const gi = this.order[this.group_]!;
    const group = this.groups[gi]!;
    const count = this.selectionFor(gi, group).count;
    if (this.index_ > count) {
      throw new RangeError(
        `${where}: cursor index ${this.index_} is out of range; group ${this.group_} ("${group.name}") visits ${count} scalars in cycle ${this.cycle_}`,
      );
    }
  }

  /** The coordinate selection of group `gi` in the current cycle (cached), checked once when computed. */
  private selectionFor(gi: number, group: WeightGroup): { readonly count: number } {
    const key = `${this.cycle_}/${gi}`;
    if (this.selectionKey !== key) {
      const tensors = group.tensors.map((t) => this.tensors[t]!);
      const selection = this.config.coordinates.select(group.size, { cycle: this.cycle_, seed: this.config.seed, group: gi, groups: this.groups.length, tensors });
      checkSelection(selection, group, this.cycle_);
      this.selection = selection;
      this.selectionKey = key;
    }
    return { count: this.selection === null ? group.size : this.selection.length };
  }

  private computeSigmas(values: (i: number) => Float32Array): Float32Array {
    const withValues: SigmaTensor[] = this.tensors.map((t, i) => ({ ...t, values: values(i) }));
    const out = new Float32Array(this.tensors.length);
    withValues.forEach((t, i) => {
      const layer = withValues.filter((o) => o.layer === t.layer);
      const raw = this.config.bnSigma !== undefined && (t.role === 'gamma' || t.role === 'beta')
        ? this.config.bnSigma
        : this.config.sigmaBase.sigma(t, layer);
      if (!isSigma(raw)) {
        throw new RangeError(`sigmaBase: σ for "${t.name}" must be finite and > 0, got ${String(raw)} (a σ runs ${SIGMA_RANGE})`);
      }
      out[i] = raw;
    });
    return out;
  }

  /**
   * Proposes the next step: the scalar under the cursor, Δ from the generator, and the candidates w, w + Δ,
   * w − Δ around its current value (after weight decay). On a tensor with a weight grid, the candidates are
   * the weight's level and its two grid neighbours instead (no draw, no decay). Nothing advances until {@link RSOSearch.tell};
   * asking again, or {@link RSOSearch.cancel}, rewinds the generator, so the same step is proposed again.
   *
   * @param read - The current value of a scalar (tensor index, row-major index).
   */
  ask(read: (tensor: number, flat: number) => number): StepProposal {
    if (this.pending !== null) this.cancel();
    const p = this.propose();
    const rngBefore = this.rng.state();
    const proposal = this.config.moves === null ? this.scalarProposal(p, read(p.tensor, p.flat)) : this.moveProposal(p, read, rngBefore);
    this.pending = { proposal, rngBefore };
    return proposal;
  }

  /** The cycle's σ for tensor `t`: its base σ, the schedule's factor and the adapted multiplier. */
  private stepSigma(p: Proposal): number {
    const sigma = p.sigma * this.factor;
    return this.adapter === null ? sigma : sigma * this.adapter.multipliers[p.tensor]!;
  }

  /** w, w + Δ, w − Δ for a scalar step; on a grid, the level and its neighbours. */
  private scalarProposal(p: Proposal, previous: number): StepProposal {
    const candidates = new Float32Array(3);
    const grid = this.grids[p.tensor] ?? null;
    let delta: number;
    if (grid === null) {
      // Drawn first, then scaled: the same draws (and float rounding) as before adaptation existed.
      delta = this.config.distribution.sample(this.rng) * p.sigma * this.factor;
      if (this.adapter !== null) delta *= this.adapter.multipliers[p.tensor]!;
      const wd = this.config.weightDecay;
      candidates[0] = wd > 0 ? previous * (1 - wd) : previous;
      candidates[1] = candidates[0]! + delta;
      candidates[2] = candidates[0]! - delta;
      // One check on the float32 values: the sum of two finite float32 is finite.
      if (!Number.isFinite(candidates[1]! + candidates[2]!)) finiteCandidates(candidates);
    } else {
      delta = stepAt(grid, p.flat);
      gridCandidates(grid, previous, candidates, p.flat);
    }
    return new ScalarProposal(p.tensor, p.flat, previous, delta, candidates);
  }

  /** The proposal at `p` under a move policy: a block move, or a scalar step where the policy returns no block. */
  private moveProposal(p: Proposal, read: (tensor: number, flat: number) => number, rngBefore: RngState): StepProposal {
    try {
      const flats = this.blockOf(p);
      return flats === null ? this.scalarProposal(p, read(p.tensor, p.flat)) : this.blockProposal(p, flats, read);
    } catch (e) {
      // A move policy that failed may have drawn: the generator rewinds, as for a cancelled step.
      this.rng = restoreRng(rngBefore);
      throw e;
    }
  }

  /**
   * The block of a block move at proposal `p`, as the move policy shapes it (checked); null for a scalar step (a
   * tensor on a grid, or the policy's choice).
   */
  private blockOf(p: Proposal): Int32Array | null {
    const moves = this.config.moves!;
    if (this.grids[p.tensor] !== null) return null;
    const tensor = this.tensors[p.tensor]!;
    const flats = moves.block({ tensor, flat: p.flat, rng: this.rng, distribution: this.config.distribution });
    if (flats !== null) this.checkBlock(flats, tensor, p.flat);
    return flats;
  }

  /** Checks a move policy's block: an Int32Array of distinct indices into the tensor, `flat` among them. */
  private checkBlock(flats: unknown, tensor: WeightTensorInfo, flat: number): void {
    const where = `moves: block() at scalar ${flat} of "${tensor.name}" (${tensor.size} scalars)`;
    if (!(flats instanceof Int32Array)) throw new RangeError(`${where} must return null or an Int32Array of indices, got ${typeof flats}`);
    if (this.blockMarks.length < tensor.size) this.blockMarks = new Int32Array(tensor.size);
    if (this.blockMark >= 0x3fffffff) {
      this.blockMarks.fill(0);
      this.blockMark = 0;
    }
    const mark = ++this.blockMark;
    let hasFlat = false;
    for (let i = 0; i < flats.length; i++) {
      const f = flats[i]!;
      if (f < 0 || f >= tensor.size) throw new RangeError(`${where} returned index ${f} at [${i}]; indices must be in 0…${tensor.size - 1}`);
      if (this.blockMarks[f] === mark) throw new RangeError(`${where} returned index ${f} twice; each index must appear once`);
      this.blockMarks[f] = mark;
      if (f === flat) hasFlat = true;
    }
    if (!hasFlat) throw new RangeError(`${where} must include the scalar under the cursor, ${flat}`);
  }

  /**
   * W, W + Δ, W − Δ over the block of `p`, Δ = σ · norm · z / √n, with z drawn per weight (or the move policy's
   * direction).
   */
  private blockProposal(p: Proposal, flats: Int32Array, read: (tensor: number, flat: number) => number): StepProposal {
    const n = flats.length;
    const moves = this.config.moves!;
    const scale = (this.stepSigma(p) * moves.norm) / Math.sqrt(n);
    const z = moves.direction === undefined ? null : this.directionOf(moves, flats, p);
    const wd = this.config.weightDecay;
    const previous = new Float32Array(n);
    const direction = new Float64Array(n);
    const values = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
    let at = 0;
    for (let i = 0; i < n; i++) {
      if (flats[i] === p.flat) at = i;
      const w = read(p.tensor, flats[i]!);
      const d = (z === null ? this.config.distribution.sample(this.rng) : z[i]!) * scale;
      previous[i] = w;
      direction[i] = d;
      values[0][i] = wd > 0 ? w * (1 - wd) : w;
      values[1][i] = values[0][i]! + d;
      values[2][i] = values[0][i]! - d;
      // As for a scalar step: a weight whose candidate is not finite in float32 stays at its current value there.
      if (!Number.isFinite(values[1][i]! + values[2][i]!)) {
        if (!Number.isFinite(values[1][i]!)) values[1][i] = values[0][i]!;
        if (!Number.isFinite(values[2][i]!)) values[2][i] = values[0][i]!;
      }
    }
    return proposalOfBlock(p.flat, at, scale * Math.sqrt(n), { tensor: p.tensor, flats, direction, previous, candidates: values });
  }

  /** The move policy's direction over `flats`, checked to hold one number per index. */
  private directionOf(moves: MovePolicy, flats: Int32Array, p: Proposal): ArrayLike<number> {
    const tensor = this.tensors[p.tensor]!;
    const z = moves.direction!(flats, { tensor, flat: p.flat, rng: this.rng, distribution: this.config.distribution });
    if (z === null || typeof z !== 'object' || z.length !== flats.length) {
      throw new RangeError(`moves: direction() at scalar ${p.flat} of "${tensor.name}" must return one number per index of the block (${flats.length}), got ${z === null || typeof z !== 'object' ? String(z) : `${String(z.length)} values`}`);
    }
    return z;
  }

  /**
   * Takes the losses of the asked candidates, applies the acceptance rule and advances the cursor.
   *
   * @param losses - The losses of the candidates.
   * @param decided - The candidate to keep when already decided (early rejection); the acceptance rule is then
   *   not asked.
   * @returns The step; the caller writes its `values` to the move's scalars, `move.candidates[accepted]` unless
   *   probe reuse chose another point (the search holds no weights).
   * @throws RangeError when the acceptance rule returns something other than 0, 1 or 2 (the step stays asked).
   */
  tell(losses: ArrayLike<number>, decided?: number): StepResult {
    const pending = this.pending;
    if (pending === null) throw new Error('RSOSearch.tell: no step was asked');
    const accepted = decided ?? this.config.acceptance.accept(losses);
    if (!Number.isInteger(accepted) || accepted < 0 || accepted > 2) {
      throw new RangeError(`acceptance: must return 0, 1 or 2, got ${String(accepted)}`);
    }
    const p = pending.proposal;
    const t = decided === undefined ? this.reusedPosition(p, losses) : null;
    if (this.adapter !== null && this.grids[p.tensor] === null) this.adapter.record(p.tensor, accepted !== 0, losses);
    // The move's kept values; a scalar step (a move of one) keeps its one value without building the move.
    const blockValues = p.block === null ? null : t === null ? p.block.candidates[accepted]! : alongBlock(p.block.candidates, t, accepted);
    const value = t === null ? p.candidates[accepted]! : along(p.candidates, t, accepted);
    const result = new Step(p, losses, accepted, this.cycle_, this.step_, value, blockValues);
    this.pending = null;
    this.step_++;
    this.index_++;
    this.settle();
    return result;
  }

  /** Where probe reuse moves the step (t in units of Δ), or null for the acceptance rule's choice. */
  private reusedPosition(p: StepProposal, losses: ArrayLike<number>): number | null {
    const rule = this.config.probeReuse;
    if (rule === null || this.grids[p.tensor] !== null) return null;
    const t = rule.position(losses);
    if (t !== null && !(typeof t === 'number' && Math.abs(t) <= rule.maxStep)) {
      throw new RangeError(`probeReuse: position must return null or a number in [-${rule.maxStep}, ${rule.maxStep}], got ${String(t)}`);
    }
    return t;
  }

  /** Drops an asked step that will not be told (its evaluation failed): the generator rewinds. */
  cancel(): void {
    if (this.pending === null) return;
    this.rng = restoreRng(this.pending.rngBefore);
    this.pending = null;
  }

  /** Counts one consumed mini-batch and returns how many steps to run on it. */
  stepsForNextBatch(): number {
    const n = stepsOfBatch(this.config.stepsPerBatch, this.batch_);
    this.batch_++;
    return n;
  }

  /** Moves the cursor past finished groups and cycles, so it always rests on the next scalar to visit. */
  private settle(): WeightGroup {
    if (!this.bound) throw new Error('RSOSearch: not bound to any tensors');
    let rollovers = 0;
    for (;;) {
      if (this.orderCycle !== this.cycle_) this.startCycle();
      if (this.group_ >= this.order.length) {
        // Two rollovers in one call: a whole cycle selected no scalar, and every later one might not either.
        if (++rollovers > 1) {
          throw new RangeError(`coordinates: selected no scalar in any weight group in cycle ${this.cycle_}; select() must return at least one position in some group`);
        }
        this.cycle_++;
        this.group_ = 0;
        this.index_ = 0;
        continue;
      }
      const gi = this.order[this.group_]!;
      const group = this.groups[gi]!;
      const { count } = this.selectionFor(gi, group);
      if (this.index_ < count) return group;
      this.group_++;
      this.index_ = 0;
    }
  }

  /** The scalar under the cursor. */
  private propose(): Proposal {
    const group = this.settle();
    let k = this.selection === null ? this.index_ : this.selection[this.index_]!;
    for (const t of group.tensors) {
      const info = this.tensors[t]!;
      if (k < info.size) return { tensor: t, flat: searchOrderToFlat(info, k), sigma: this.sigmas![t]! };
      k -= info.size;
    }
    throw new RangeError(`coordinates: position ${String(this.selection?.[this.index_])} is outside group "${group.name}" of size ${group.size}`);
  }

  private startCycle(): void {
    const groups = this.groups.map((g) => ({ name: g.name, size: g.size }));
    const order = this.config.layerOrder.order(groups, { cycle: this.cycle_, seed: this.config.seed });
    const seen = new Set(order);
    if (order.length !== groups.length || seen.size !== groups.length || order.some((i) => !Number.isInteger(i) || i < 0 || i >= groups.length)) {
      throw new RangeError(`layerOrder: must return a permutation of 0…${groups.length - 1}, got ${JSON.stringify(order)}`);
    }
    const factor = sigmaFactor(this.config.sigma, this.cycle_, this.config.cycles);
    this.order = order;
    this.factor = factor;
    this.orderCycle = this.cycle_;
  }

  /** Names of the groups in the current cycle's order (for progress output). */
  currentGroupName(): string {
    return this.bound ? this.settle().name : '';
  }

  /** A snapshot of the state: the position, σ adaptation's state and each policy's, encoded by their parts. */
  state(): SearchState {
    // Bound, the adapter holds the adaptation; before binding, the restored state does.
    const adapt = this.adapter?.pack() ?? this.restored?.adapt?.slice();
    const s = adapt === undefined ? this.position() : { ...this.position(), adapt };
    return this.policyStates.length === 0 ? s : { ...s, policies: encodePolicies(this.policyStates) };
  }

  /** The position alone: cursor, counters and generator. */
  private position(): SearchState {
    return { cycle: this.cycle_, group: this.group_, index: this.index_, step: this.step_, batch: this.batch_, rng: this.rng.state() };
  }

  /**
   * Restores a snapshot taken by {@link RSOSearch.state}. Every field is checked; the cursor and σ adaptation are
   * checked against the bound tensors now, or when the search binds. A state without `adapt` leaves the adaptation
   * as it is, and a policy part left out of `policies` that policy's state. On error nothing changes: the old values
   * are kept and put back.
   */
  restore(s: SearchState): void {
    checkSearchState(s, 'RSO state');
    // Decoded first, so that a bad policy state changes nothing.
    const policies = s.policies === undefined ? [] : decodePolicies(this.policyStates, s.policies);
    if (!this.bound) {
      const adapt = s.adapt ?? this.restored?.adapt;
      this.assign(s, null);
      this.restored = adapt === undefined ? s : { ...s, adapt: Float32Array.from(adapt) };
      for (const p of policies) p.state.set(p.value);
      return;
    }
    const previous = { position: this.position(), adapter: this.adapter, policies: policies.map((p) => p.state.get()) };
    // Decoded first, so that a bad adaptation state changes nothing.
    this.assign(s, s.adapt === undefined ? this.adapter : this.makeAdapter(s.adapt));
    for (const p of policies) p.state.set(p.value);
    try {
      this.checkCursor('RSO state');
    } catch (e) {
      this.assign(previous.position, previous.adapter);
      policies.forEach((p, i) => p.state.set(previous.policies[i]));
      throw e;
    }
  }

  private assign(s: SearchState, adapter: SigmaAdapter | null): void {
    this.pending = null;
    this.cycle_ = s.cycle;
    this.group_ = s.group;
    this.index_ = s.index;
    this.step_ = s.step;
    this.batch_ = s.batch;
    this.rng = restoreRng(s.rng);
    this.adapter = adapter;
    this.orderCycle = -1;
    this.selectionKey = '';
  }
}

/** Checks what a coordinate selection returned for one group: null, or an Int32Array of positions in the group. */
function checkSelection(selection: unknown, group: WeightGroup, cycle: number): void {
  if (selection === null) return;
  const where = `coordinates: select() for group "${group.name}" (${group.size} scalars) in cycle ${cycle}`;
  if (!(selection instanceof Int32Array)) {
    const kind = selection === undefined ? 'undefined' : Array.isArray(selection) ? 'an Array' : typeof selection === 'object' ? (selection.constructor?.name ?? 'an object') : typeof selection;
    throw new RangeError(`${where} must return null or an Int32Array of positions, got ${kind}`);
  }
  for (let k = 0; k < selection.length; k++) {
    const p = selection[k]!;
    if (p < 0 || p >= group.size) {
      throw new RangeError(`${where} returned position ${p} at [${k}]; positions must be in 0…${group.size - 1}`);
    }
  }
}
