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
  /** Resolves with the step of the next report of this type. */
  next(type: 'paused' | 'saved'): Promise<number>;
  /** Resolves once the run has reached `step`. */
  reach(step: number): Promise<number>;
  readonly step: number;
}

/** Where a run draws: its series name, the two charts and its status line. */
export interface RunView {
  readonly name: string;
  readonly loss: Chart;
  readonly acc: Chart;
  status(text: string, isError: boolean): void;
}

interface Live {
  step: number;
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
  else if (r.type === 'loss') {
    Object.assign(live, { step: r.step, loss: r.loss, seconds: r.seconds });
    view.loss.add({ run: view.name, step: r.step, seconds: r.seconds, value: r.loss });
  } else if (r.type === 'accuracy') {
    live.acc = r.acc;
    view.acc.add({ run: view.name, step: r.step, seconds: r.seconds, value: r.acc });
  }
  if (r.type === 'error') view.status(`${view.name} stopped with an error: ${r.message}`, true);
  else view.status(statusLine(view.name, spec, live) + (r.type === 'paused' ? ' · paused' : r.type === 'done' ? ' · done' : ''), false);
}

/** Starts a worker on `spec`, drawing into `view`. */
export function startRun(spec: RunSpec, view: RunView): RunHandle {
  const worker = new Worker('worker.js');
  const live: Live = { step: 0, backend: spec.backend, threads: 1, loss: NaN, acc: NaN, seconds: 0 };
  const waiters: { test: (r: Report) => number | null; resolve: (step: number) => void }[] = [];
  let finish: (o: Outcome) => void = () => undefined;
  const done = new Promise<Outcome>((resolve) => (finish = resolve));
  worker.onmessage = (e: MessageEvent<Report>) => {
    const r = e.data;
    draw(view, spec, live, r);
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
  worker.postMessage({ type: 'start', spec });
  const wait = (test: (r: Report) => number | null) => new Promise<number>((resolve) => waiters.push({ test, resolve }));
  return {
    spec,
    done,
    post: (type) => worker.postMessage({ type }),
    next: (type) => wait((r) => (r.type === type ? r.step : null)),
    reach: (step) => (live.step >= step ? Promise.resolve(live.step) : wait((r) => (r.type === 'loss' && r.step >= step ? r.step : null))),
    get step() {
      return live.step;
    },
  };
}
