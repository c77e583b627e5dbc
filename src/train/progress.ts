/** The trainer's own output with `verbose: 1`: one console line per cycle, in any environment. */
export interface Progress {
  /** After a cycle: its logs. */
  cycleEnd(cycle: number, endCycle: number, logs: Readonly<Record<string, number>>): void;
}

const format = (logs: Readonly<Record<string, number>>) =>
  Object.entries(logs)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(', ');

/**
 * Logs one line per cycle with `console.log`, as `model.fit` does per epoch in a browser. It touches no
 * platform API, so it works in a page, a Web Worker and Node. A terminal progress bar is a callback of
 * `tfjs-rso/node`.
 */
export function consoleProgress(stepsSoFar: () => number): Progress {
  const t0 = Date.now();
  return {
    cycleEnd(cycle, endCycle, logs) {
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`RSO cycle ${cycle + 1}/${endCycle}: ${format(logs)} (${stepsSoFar()} steps, ${seconds} s)`);
    },
  };
}
