import cliProgress from 'cli-progress';

/** The trainer's progress output: a terminal bar on stderr. */
export interface Progress {
  update(done: number, fields: { cycle: number; layer: string; loss: number; rate: number }): void;
  stop(): void;
}

/** Starts a progress bar over `total` steps on stderr. */
export function startProgressBar(total: number, cycle: number, layer: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: 'RSO |{bar}| {percentage}% | step {value}/{total} | cycle {cycle} | {layer} | loss {loss} | {rate} steps/s | ETA {eta_formatted}',
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Number.isFinite(total) ? total : 0, 0, { cycle, layer, loss: '-', rate: '-' });
  return {
    update: (done, f) => bar.update(done, { cycle: f.cycle, layer: f.layer, loss: f.loss.toPrecision(4), rate: f.rate.toFixed(1) }),
    stop: () => bar.stop(),
  };
}
