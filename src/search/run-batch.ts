import type { CandidateEvaluator } from '../engine/evaluator.js';
import type { BlockMove, RSOSearch, StepProposal, StepResult } from './rso-search.js';

/**
 * One step: ask the search, evaluate the candidates, tell it the losses, write the kept value.
 *
 * @remarks If the evaluation or the acceptance rule throws, the scalar is written back to its value before the
 * step and the search rewinds its generator, so nothing of the step remains.
 */
export function runStep(search: RSOSearch, evaluator: CandidateEvaluator): StepResult {
  const p = search.ask(evaluator.read);
  if (p.block !== null) return runBlockStep(search, evaluator, p, p.block);
  let result: StepResult;
  try {
    result = search.tell(evaluator.evaluate(p.tensor, p.flat, p.candidates));
  } catch (e) {
    evaluator.write(p.tensor, p.flat, p.previous);
    search.cancel();
    throw e;
  }
  evaluator.write(p.tensor, p.flat, p.candidates[result.accepted]!);
  return result;
}

/** A block move: the same as a scalar step, with the block's values evaluated and written together. */
function runBlockStep(search: RSOSearch, evaluator: CandidateEvaluator, p: StepProposal, block: BlockMove): StepResult {
  if (evaluator.evaluateBlock === undefined || evaluator.writeBlock === undefined) {
    search.cancel();
    throw new RangeError('moves: this evaluator cannot evaluate block moves (it has no evaluateBlock and writeBlock)');
  }
  let result: StepResult;
  try {
    result = search.tell(evaluator.evaluateBlock(p.tensor, block.flats, block.candidates));
  } catch (e) {
    evaluator.writeBlock(p.tensor, block.flats, block.previous);
    search.cancel();
    throw e;
  }
  evaluator.writeBlock(p.tensor, block.flats, block.candidates[result.accepted]!);
  return result;
}

/** Writes back what a step changed. */
function undo(evaluator: CandidateEvaluator, r: StepResult): void {
  if (r.block === null) evaluator.write(r.tensor, r.flat, r.previous);
  else evaluator.writeBlock!(r.tensor, r.block.flats, r.block.previous);
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
  const before = search.state();
  const steps = search.stepsForNextBatch();
  const done: StepResult[] = [];
  let last: StepResult | null = null;
  try {
    for (let s = 0; s < steps; s++) {
      last = runStep(search, evaluator);
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
