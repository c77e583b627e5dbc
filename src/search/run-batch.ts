import type { CandidateEvaluator } from '../engine/evaluator.js';
import type { RSOSearch, StepResult } from './rso-search.js';

/**
 * One step: ask the search, evaluate the candidates, tell it the losses, write the kept value.
 *
 * @remarks If the evaluation or the acceptance rule throws, the scalar is written back to its value before the
 * step and the search rewinds its generator, so nothing of the step remains.
 */
export function runStep(search: RSOSearch, evaluator: CandidateEvaluator): StepResult {
  const p = search.ask(evaluator.read);
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
    for (let k = done.length - 1; k >= 0; k--) evaluator.write(done[k]!.tensor, done[k]!.flat, done[k]!.previous);
    search.restore(before);
    throw e;
  }
  return last!;
}
