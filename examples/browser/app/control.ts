/**
 * Pause, resume and stop for a training loop that calls {@link Control.checkpoint} after every step. A paused
 * loop waits inside that call, so the run (an `rso.fit` call included) is suspended, not ended: resuming
 * continues the same call, and the result equals an uninterrupted run.
 */
export interface Control {
  pause(): void;
  /** Pauses at the first checkpoint whose step is at least `step`. */
  pauseAt(step: number): void;
  resume(): void;
  stop(): void;
  readonly paused: boolean;
  readonly stopped: boolean;
  /** True while the loop waits inside {@link Control.checkpoint}: it is at a step boundary, and can be saved. */
  readonly holding: boolean;
  /** Resolves at once unless paused (or `step` reached a {@link Control.pauseAt}); then when resumed or stopped. Calls the hooks on each change. */
  checkpoint(step: number, onPause: () => void, onResume: () => void): Promise<void>;
  /** Seconds of training so far: time spent paused or inside {@link Control.excluded} does not count. */
  seconds(): number;
  /** Runs `f` with the clock stopped (evaluations, saving). */
  excluded<T>(f: () => Promise<T> | T): Promise<T>;
}

/** A stopwatch that can be held. */
function stopwatch(): { hold(): void; release(): void; read(): number } {
  let total = 0;
  let since: number | null = performance.now();
  return {
    hold: () => {
      if (since !== null) total += performance.now() - since;
      since = null;
    },
    release: () => void (since ??= performance.now()),
    read: () => (total + (since === null ? 0 : performance.now() - since)) / 1000,
  };
}

/** Creates the control of one run; its clock starts now. */
export function createControl(): Control {
  const clock = stopwatch();
  let paused = false;
  let stopped = false;
  let holding = false;
  let pauseAtStep = Infinity;
  let wake: (() => void) | null = null;
  const release = () => {
    wake?.();
    wake = null;
  };
  return {
    get paused() {
      return paused;
    },
    get stopped() {
      return stopped;
    },
    get holding() {
      return holding;
    },
    pause: () => void (paused = !stopped),
    pauseAt: (step) => void (pauseAtStep = step),
    resume: () => {
      paused = false;
      release();
    },
    stop: () => {
      stopped = true;
      paused = false;
      release();
    },
    async checkpoint(step, onPause, onResume) {
      if (step >= pauseAtStep) {
        pauseAtStep = Infinity;
        paused = !stopped;
      }
      if (!paused) return;
      clock.hold();
      holding = true;
      onPause();
      await new Promise<void>((done) => (wake = done));
      holding = false;
      clock.release();
      onResume();
    },
    seconds: () => clock.read(),
    async excluded(f) {
      clock.hold();
      try {
        return await f();
      } finally {
        if (!paused) clock.release();
      }
    },
  };
}
