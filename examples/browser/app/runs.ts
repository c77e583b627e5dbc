import type { Chart } from './charts.js';
import type { Report, RunResult, RunSpec } from './protocol.js';

/** How a worker's run ended: its result, or the error it stopped with. */
export interface Outcome {
  readonly trainer: string;
  readonly backend: string;
  /** The wasm backend's threads; 1 on other backends. */
  readonly threads: number;
  readonly result?: RunResult;
  readonly error?: string;
}

/** One training worker seen from the page. */
export interface RunHandle {
  readonly spec: RunSpec;
  readonly done: Promise<Outcome>;
  post(type: 'pause' | 'resume' | 'stop' | 'save'): void;
  /**
   * Resolves with the step of the next report of this type. Rejects if the run ends first, so a pause or save
   * asked for as the run finishes says so instead of waiting forever.
   */
  next(type: 'paused' | 'saved'): Promise<number>;
  /** Resolves once the run has reached `step` (rejects if it ends first). */
  reach(step: number): Promise<number>;
  /** Runs on, from a pause or not, and pauses exactly at `step`; resolves with the step it paused at. */
  runTo(step: number): Promise<number>;
  readonly step: number;
}

/** Where a run draws: its series name, the two charts and its status line. */
export interface RunView {
  readonly name: string;
  readonly loss: Chart;
  readonly acc: Chart;
  status(text: string, isError: boolean): void;
  /** Sees every report after it is drawn (the shrink tab fills its table from them). */
  onReport?(r: Report): void;
}

interface Live {
  step: number;
  /** The step the run is paused at, or null. */
  pausedAt: number | null;
  /** Set once the run has ended (done, error, or a failed worker). */
  ended: boolean;
  backend: string;
  threads: number;
  loss: number;
  acc: number;
  seconds: number;
}

function statusLine(name: string, spec: RunSpec, s: Live): string {
  const rate = s.seconds > 0 ? ` · ${(s.step / s.seconds).toFixed(1)} steps/s` : '';
  const on = s.threads > 1 ? `${s.backend} (${s.threads} threads)` : s.backend;
  return `${name} on ${on}: step ${s.step}/${spec.maxSteps} · loss ${s.loss.toFixed(4)} · test accuracy ${(100 * s.acc).toFixed(1)}%${rate}`;
}

/** Draws one report; returns the updated live state. */
function draw(view: RunView, spec: RunSpec, live: Live, r: Report): void {
  if (r.type === 'ready') Object.assign(live, { backend: r.backend, threads: r.threads, step: r.step });
  else if (r.type === 'paused') live.pausedAt = r.step;
  else if (r.type === 'resumed') live.pausedAt = null;
  else if (r.type === 'loss') {
    Object.assign(live, { step: r.step, loss: r.loss, seconds: r.seconds });
    view.loss.add({ run: view.name, step: r.step, seconds: r.seconds, value: r.loss });
  } else if (r.type === 'accuracy') {
    live.acc = r.acc;
    view.acc.add({ run: view.name, step: r.step, seconds: r.seconds, value: r.acc });
  }
  if (r.type === 'error') {
    view.status(`${view.name} stopped with an error: ${r.message}`, true);
    // A run that failed before its first step has only its test of the initial weights, which another trainer's
    // run shares: it has nothing of its own to draw.
    if (live.step === 0 && !spec.resume) [view.loss, view.acc].forEach((c) => c.remove(view.name));
  }
  else view.status(statusLine(view.name, spec, live) + (r.type === 'paused' ? ' · paused' : r.type === 'done' ? ' · done' : ''), false);
}

interface Waiter {
  test(r: Report): number | null;
  resolve(step: number): void;
  reject(e: Error): void;
}

/** Starts a worker on `spec`, drawing into `view`; with `pauseAt`, the run pauses when it reaches that step. */
export function startRun(spec: RunSpec, view: RunView, pauseAt?: number): RunHandle {
  const worker = new Worker('worker.js');
  const live: Live = { step: 0, pausedAt: null, ended: false, backend: spec.backend, threads: 1, loss: NaN, acc: NaN, seconds: 0 };
  const waiters: Waiter[] = [];
  let settle: (o: Outcome) => void = () => undefined;
  const done = new Promise<Outcome>((resolve) => (settle = resolve));
  const finish = (o: Outcome) => {
    live.ended = true;
    for (const w of waiters.splice(0)) w.reject(new Error(`the ${view.name} run ended at step ${live.step}${o.error === undefined ? '' : ` (${o.error})`}`));
    settle(o);
  };
  worker.onmessage = (e: MessageEvent<Report>) => {
    const r = e.data;
    draw(view, spec, live, r);
    view.onReport?.(r);
    for (const w of [...waiters]) {
      const step = w.test(r);
      if (step === null) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(step);
    }
    if (r.type === 'done' || r.type === 'error') {
      worker.terminate();
      finish({ trainer: view.name, backend: live.backend, threads: live.threads, ...(r.type === 'done' ? { result: r.result } : { error: r.message }) });
    }
  };
  worker.onerror = (e) => {
    view.status(`${view.name}: the worker failed: ${e.message}`, true);
    finish({ trainer: view.name, backend: live.backend, threads: live.threads, error: e.message });
  };
  worker.postMessage({ type: 'start', spec, ...(pauseAt === undefined ? {} : { pauseAt }) });
  const wait = (test: (r: Report) => number | null) =>
    live.ended ? Promise.reject(new Error(`the ${view.name} run has ended (step ${live.step})`)) : new Promise<number>((resolve, reject) => waiters.push({ test, resolve, reject }));
  return {
    spec,
    done,
    post: (type) => worker.postMessage({ type }),
    next: (type) => wait((r) => (r.type === type ? r.step : null)),
    reach: (step) => (live.step >= step ? Promise.resolve(live.step) : wait((r) => (r.type === 'loss' && r.step >= step ? r.step : null))),
    runTo: (step) => {
      if (live.pausedAt !== null && live.pausedAt >= step) return Promise.resolve(live.pausedAt);
      const paused = wait((r) => (r.type === 'paused' && r.step >= step ? r.step : null));
      worker.postMessage({ type: 'pauseAt', step });
      worker.postMessage({ type: 'resume' });
      return paused;
    },
    get step() {
      return live.step;
    },
  };
}
