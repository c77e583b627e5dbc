// The counters of early rejection: owned by the step driver (the runner of rso.fit, a worker's loop, or whoever
// calls `runSteps`), updated by `runBatch`, reported in `history.params`. No evaluator holds them.

/**
 * Where a run's early rejection steps stopped: per stage of the rule (the last is the full batch), and the examples
 * evaluated per candidate.
 *
 * @remarks `decided` sums to the steps run; `evaluated[i]` counts the steps that evaluated stage i, and `examples`
 * adds the rows of every stage or full batch a step evaluated.
 * @example
 * ```ts
 * const counts = stageCounts(rule.stages.length);
 * rso.runSteps(evaluator, undefined, counts);
 * counts.decided; // steps decided at each stage
 * ```
 */
export interface StageCounts {
  /** Per stage of the rule (the last is the full batch): steps that evaluated it. */
  readonly evaluated: number[];
  /** Per stage of the rule: steps decided there. */
  readonly decided: number[];
  /** Examples evaluated per candidate, summed over stages and steps. */
  examples: number;
}

/**
 * Fresh counters for a rule with `stages` stages.
 *
 * @param stages - The rule's number of stages, the full batch included.
 * @returns Counters at zero.
 * @example
 * ```ts
 * stageCounts(3); // { evaluated: [0, 0, 0], decided: [0, 0, 0], examples: 0 }
 * ```
 */
export function stageCounts(stages: number): StageCounts {
  return { evaluated: new Array<number>(stages).fill(0), decided: new Array<number>(stages).fill(0), examples: 0 };
}

/**
 * The counters for `history.params`: per stage, steps that evaluated it and steps decided there, comma-separated,
 * and the examples evaluated per candidate; nothing without early rejection.
 *
 * @param counts - The run's counters, if it has early rejection.
 * @returns `engineStagesEvaluated`, `engineStagesDecided` and `engineStageExamples`.
 */
export function stageParams(counts: StageCounts | undefined): Record<string, string | number> {
  if (counts === undefined) return {};
  return { engineStagesEvaluated: counts.evaluated.join(','), engineStagesDecided: counts.decided.join(','), engineStageExamples: counts.examples };
}
