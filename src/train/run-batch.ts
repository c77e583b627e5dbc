import type { CandidateEvaluator, StagedEvaluator } from '../engine/evaluator.js';
import type { EarlyRejection } from '../policies/early-rejection/index.js';
import type { BlockMove, RSOSearch, StepProposal, StepResult } from '../search/rso-search.js';

/** How a step puts its weights back after a failure, and writes the kept candidate. */
interface StepWrites {
  restore(): void;
  keep(r: StepResult): void;
}

const scalarWrites = (evaluator: CandidateEvaluator, p: StepProposal): StepWrites => ({
  restore: () => evaluator.write(p.tensor, p.flat, p.previous),
  keep: (r) => evaluator.write(p.tensor, p.flat, r.value),
});

const blockWrites = (evaluator: CandidateEvaluator, p: StepProposal, block: BlockMove): StepWrites => ({
  restore: () => evaluator.writeBlock!(p.tensor, block.flats, block.previous),
  keep: (r) => evaluator.writeBlock!(p.tensor, block.flats, r.blockValues!),
});

/**
 * Ends an asked step: `tell` evaluates and tells the search; the kept candidate is written. If `tell` throws, the
 * weights are put back and the search rewinds its generator, so nothing of the step remains.
 */
function settle(search: RSOSearch, tell: () => StepResult, writes: StepWrites): StepResult {
  let result: StepResult;
  try {
    result = tell();
  } catch (e) {
    writes.restore();
    search.cancel();
    throw e;
  }
  writes.keep(result);
  return result;
}

/**
 * One step: ask the search, evaluate the candidates, tell it the losses, write the kept value.
 *
 * @remarks If the evaluation or the acceptance rule throws, the scalar is written back to its value before the
 * step and the search rewinds its generator, so nothing of the step remains.
 */
export function runStep(search: RSOSearch, evaluator: CandidateEvaluator): StepResult {
  const p = search.ask(evaluator.read);
  if (p.block !== null) return runBlockStep(search, evaluator, p, p.block);
  return settle(search, () => search.tell(evaluator.evaluate(p.tensor, p.flat, p.candidates)), scalarWrites(evaluator, p));
}

/** A block move: the same as a scalar step, with the block's values evaluated and written together. */
function runBlockStep(search: RSOSearch, evaluator: CandidateEvaluator, p: StepProposal, block: BlockMove): StepResult {
  if (evaluator.evaluateBlock === undefined || evaluator.writeBlock === undefined) {
    search.cancel();
    throw new RangeError('moves: this evaluator cannot evaluate block moves (it has no evaluateBlock and writeBlock)');
  }
  return settle(search, () => search.tell(evaluator.evaluateBlock!(p.tensor, block.flats, block.candidates)), blockWrites(evaluator, p, block));
}

/** Writes back what a step changed. */
function undo(evaluator: CandidateEvaluator, r: StepResult): void {
  if (r.block === null) evaluator.write(r.tensor, r.flat, r.previous);
  else evaluator.writeBlock!(r.tensor, r.block.flats, r.block.previous);
}

/** Narrows an evaluator to one that evaluates stages, or says why early rejection cannot run on it. */
function staged(evaluator: CandidateEvaluator): StagedEvaluator {
  const e = evaluator as Partial<StagedEvaluator>;
  if (typeof e.evaluateStage !== 'function' || typeof e.batchRows !== 'function' || e.stageCounts === undefined) {
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
 */
export function runStagedStep(search: RSOSearch, evaluator: StagedEvaluator, rule: EarlyRejection): StepResult {
  const p = search.ask(evaluator.read);
  // A block move always takes the full batch (the stages evaluate scalar steps only; documented in the guide).
  if (p.block !== null) {
    const r = runBlockStep(search, evaluator, p, p.block);
    countFullBatch(evaluator, rule);
    return r;
  }
  return settle(search, () => tellStaged(search, evaluator, rule, p), scalarWrites(evaluator, p));
}

/** Evaluates the stages of `rule` in turn and tells the search the first settled one, or the full batch's losses. */
function tellStaged(search: RSOSearch, evaluator: StagedEvaluator, rule: EarlyRejection, p: StepProposal): StepResult {
  const counts = evaluator.stageCounts;
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
  const decided = search.tell(evaluator.evaluate(p.tensor, p.flat, p.candidates));
  countFullBatch(evaluator, rule);
  return decided;
}

/** Counts a step decided on the full batch. */
function countFullBatch(evaluator: StagedEvaluator, rule: EarlyRejection): void {
  const full = rule.stages.length - 1;
  evaluator.stageCounts.evaluated[full]!++;
  evaluator.stageCounts.decided[full]!++;
  evaluator.stageCounts.examples += evaluator.batchRows();
}

/**
 * The steps of one mini-batch: as many as the `stepsPerBatch` schedule gives for it.
 *
 * @remarks When a step throws, the whole batch is undone: every scalar the batch's earlier steps changed is
 * written back, and the search state (cursor, counters, generator) is restored, so a retry of the batch
 * reproduces an uninterrupted run.
 * @param keepGoing - Asked after each step but the batch's last: false ends the batch early (a budget).
 * @returns The batch's last step.
 */
export function runBatch(search: RSOSearch, evaluator: CandidateEvaluator, keepGoing?: () => boolean): StepResult {
  const rule = search.config.earlyRejection;
  const stagedEvaluator = rule === null ? null : staged(evaluator);
  const before = search.state();
  const steps = search.stepsForNextBatch();
  const done: StepResult[] = [];
  let last: StepResult | null = null;
  try {
    for (let s = 0; s < steps; s++) {
      last = stagedEvaluator === null ? runStep(search, evaluator) : runStagedStep(search, stagedEvaluator, rule!);
      if (steps > 1) done.push(last);
      if (s + 1 < steps && keepGoing !== undefined && !keepGoing()) break;
    }
  } catch (e) {
    for (let k = done.length - 1; k >= 0; k--) undo(evaluator, done[k]!);
    search.restore(before);
    throw e;
  }
  return last!;
}
