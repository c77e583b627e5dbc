import { movesBlocks } from '../engine/evaluator.js';
import type { BlockEvaluator, CandidateEvaluator, StagedEvaluator } from '../engine/evaluator.js';
import type { EarlyRejection } from '../policies/early-rejection/index.js';
import type { RSOSearch, StepProposal, StepResult } from '../search/rso-search.js';
import { stageCounts } from './stage-counts.js';
import type { StageCounts } from './stage-counts.js';

/**
 * The asked step's move, evaluated: a scalar step (a move of one) by `evaluate`, a block move by `evaluateBlock`. A
 * block move on an evaluator that cannot take one drops the step.
 */
function evaluateMove(search: RSOSearch, evaluator: CandidateEvaluator, p: StepProposal): ArrayLike<number> {
  if (p.block === null) return evaluator.evaluate(p.tensor, p.flat, p.candidates);
  return blockEvaluator(search, evaluator).evaluateBlock(p.tensor, p.block.flats, p.block.candidates);
}

/** The evaluator, checked to take block moves; if it cannot, the asked step is dropped and the error names `moves`. */
function blockEvaluator(search: RSOSearch, evaluator: CandidateEvaluator): BlockEvaluator {
  if (movesBlocks(evaluator)) return evaluator;
  search.cancel();
  throw new RangeError('moves: this evaluator cannot evaluate block moves (it has no evaluateBlock and writeBlock)');
}

/**
 * Writes a step's move: `after` the values it kept, else its values before the step. A scalar step writes its one
 * scalar by `write`, a block move by `writeBlock`.
 */
function writeMove(evaluator: CandidateEvaluator, s: StepProposal | StepResult, after: StepResult | null): void {
  if (s.block === null) evaluator.write(s.tensor, s.flat, after === null ? s.previous : after.value);
  else (evaluator as BlockEvaluator).writeBlock(s.tensor, s.block.flats, after === null ? s.block.previous : after.blockValues!);
}

/**
 * Ends an asked step: `decide` evaluates its move and tells the search; the kept values are written. If `decide`
 * throws, the move's weights are put back and the search rewinds its generator, so nothing of the step remains.
 */
function settle(search: RSOSearch, evaluator: CandidateEvaluator, p: StepProposal, decide: () => StepResult): StepResult {
  let result: StepResult;
  try {
    result = decide();
  } catch (e) {
    // A block move the evaluator cannot take was dropped before anything was written.
    if (p.block === null || movesBlocks(evaluator)) writeMove(evaluator, p, null);
    search.cancel();
    throw e;
  }
  writeMove(evaluator, result, result);
  return result;
}

/**
 * One step: propose (ask the search for a move), evaluate its candidates, decide (tell the search the losses), and
 * record (write the kept values).
 *
 * @remarks If the evaluation or the acceptance rule throws, the move's weights are written back to their values
 * before the step and the search rewinds its generator, so nothing of the step remains.
 */
export function runStep(search: RSOSearch, evaluator: CandidateEvaluator): StepResult {
  const p = search.ask(evaluator.read);
  return settle(search, evaluator, p, () => search.tell(evaluateMove(search, evaluator, p)));
}

/** Narrows an evaluator to one that evaluates stages, or says why early rejection cannot run on it. */
function staged(evaluator: CandidateEvaluator): StagedEvaluator {
  const e = evaluator as Partial<StagedEvaluator>;
  if (typeof e.evaluateStage !== 'function' || typeof e.batchRows !== 'function') {
    throw new RangeError('earlyRejection: this evaluator cannot evaluate part of a batch (it has no evaluateStage); use rso.fit, or leave earlyRejection out');
  }
  return evaluator as StagedEvaluator;
}

/**
 * One step with early rejection: the candidates are evaluated on the rule's stages of the batch in turn, and the
 * first stage the rule settles keeps its best candidate; otherwise the full batch and the acceptance rule decide.
 *
 * @remarks An early step is told the stage's losses: the mean over the stage's examples, or for a sum over the
 * batch, the stage's sum scaled to the batch (× N / n). A block move (`moves`) takes the full batch. Failures undo
 * the step as {@link runStep} does.
 * @param counts - The driver's counters, updated with where the step stopped.
 */
export function runStagedStep(search: RSOSearch, evaluator: StagedEvaluator, rule: EarlyRejection, counts: StageCounts): StepResult {
  const p = search.ask(evaluator.read);
  // A block move always takes the full batch (the stages evaluate scalar steps only; documented in the guide).
  return settle(search, evaluator, p, () => (p.block === null ? tellStaged(search, evaluator, rule, p, counts) : tellFull(search, evaluator, rule, p, counts)));
}

/** Tells the search the losses of the step's move on the full batch, and counts the step there. */
function tellFull(search: RSOSearch, evaluator: StagedEvaluator, rule: EarlyRejection, p: StepProposal, counts: StageCounts): StepResult {
  const decided = search.tell(evaluateMove(search, evaluator, p));
  countFullBatch(counts, rule, evaluator.batchRows());
  return decided;
}

/** Evaluates the stages of `rule` in turn and tells the search the first settled one, or the full batch's losses. */
function tellStaged(search: RSOSearch, evaluator: StagedEvaluator, rule: EarlyRejection, p: StepProposal, counts: StageCounts): StepResult {
  const rows = evaluator.batchRows();
  const plan = rule.plan(rows);
  for (const { stage, rows: n } of plan) {
    const sums = evaluator.evaluateStage(p.tensor, p.flat, p.candidates, stage, n);
    counts.evaluated[stage]!++;
    counts.examples += n;
    const keep = rule.decide(sums, plan.length, p.candidates);
    if (keep < 0) continue;
    const scale = evaluator.reduction === 'sum' ? rows / sums[0]! : 1 / sums[0]!;
    const decided = search.tell(Float64Array.from([sums[1]! * scale, sums[2]! * scale, sums[3]! * scale]), keep);
    counts.decided[stage]!++;
    return decided;
  }
  return tellFull(search, evaluator, rule, p, counts);
}

/** Counts a step decided on the full batch of `rows` examples. */
function countFullBatch(counts: StageCounts, rule: EarlyRejection, rows: number): void {
  const full = rule.stages.length - 1;
  counts.evaluated[full]!++;
  counts.decided[full]!++;
  counts.examples += rows;
}

/**
 * The steps of one mini-batch: as many as the `stepsPerBatch` schedule gives for it.
 *
 * @remarks When a step throws, the whole batch is undone: every scalar the batch's earlier steps changed is
 * written back, and the search state (cursor, counters, generator) is restored, so a retry of the batch
 * reproduces an uninterrupted run.
 * @param keepGoing - Asked after each step but the batch's last: false ends the batch early (a budget).
 * @param counts - With early rejection, the driver's counters, updated with where each step stopped (fresh ones,
 *   dropped after the batch, when not given). A batch that throws leaves the counts of its earlier steps.
 * @returns The batch's last step.
 */
export function runBatch(search: RSOSearch, evaluator: CandidateEvaluator, keepGoing?: () => boolean, counts?: StageCounts): StepResult {
  const rule = search.config.earlyRejection;
  const stagedEvaluator = rule === null ? null : staged(evaluator);
  const tally = rule === null ? null : (counts ?? stageCounts(rule.stages.length));
  const before = search.state();
  const steps = search.stepsForNextBatch();
  const done: StepResult[] = [];
  let last: StepResult | null = null;
  try {
    for (let s = 0; s < steps; s++) {
      last = stagedEvaluator === null ? runStep(search, evaluator) : runStagedStep(search, stagedEvaluator, rule!, tally!);
      if (steps > 1) done.push(last);
      if (s + 1 < steps && keepGoing !== undefined && !keepGoing()) break;
    }
  } catch (e) {
    for (let k = done.length - 1; k >= 0; k--) writeMove(evaluator, done[k]!, null);
    search.restore(before);
    throw e;
  }
  return last!;
}
