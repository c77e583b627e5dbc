// The demo page: controls, tabs and charts. Training runs in Web Workers (worker.ts), one per trainer.
import { createChart } from './charts.js';
import type { Chart, Point, XAxis } from './charts.js';
import type { RunSpec, SigmaName, Task, Trainer } from './protocol.js';
import { startRun } from './runs.js';
import type { Outcome, RunHandle, RunView } from './runs.js';
import { frameMonitor } from './frames.js';
import { createShrinkView } from './shrink-view.js';
import type { ShrinkView } from './shrink-view.js';

interface TabView {
  readonly task: Task;
  readonly loss: Chart;
  readonly acc: Chart;
  readonly status: HTMLElement;
}

/** The page's settings, from the controls; the test API may override any of them. */
interface Settings {
  backend: string;
  batchSize: number;
  sigma: SigmaName;
  maxSteps: number;
  seed: number;
  /** Run Adam next to RSO (default true). */
  adam: boolean;
  /** The shrink tab: bits per weight (1 binary, 2 ternary, 3, 4). */
  bits: number;
}

/** The series name of each trainer in the charts and status lines. */
const SERIES: Record<Trainer, string> = { rso: 'RSO', adam: 'Adam', shrink: 'RSO repair' };
const TASKS = ['conv', 'threshold', 'shrink'] as const;

// localStorage key of the saved run's settings and chart points (the model itself is in IndexedDB).
const SAVED_KEY = 'tfjs-rso-demo';
// Test accuracy every this many steps.
const EVAL_EVERY = 50;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const tabs: Record<Task, TabView> = {} as Record<Task, TabView>;
let active: Task = 'conv';
let runs: Partial<Record<Trainer, RunHandle>> = {};
const frames = frameMonitor();
let shrink: ShrinkView | null = null;

function settings(over: Partial<Settings> = {}): Settings {
  return {
    backend: $<HTMLSelectElement>('backend').value,
    batchSize: Number($<HTMLInputElement>('batch').value),
    sigma: $<HTMLSelectElement>('sigma').value as SigmaName,
    maxSteps: Number($<HTMLInputElement>('steps').value),
    seed: Number($<HTMLInputElement>('seed').value),
    adam: true,
    bits: Number($<HTMLSelectElement>('bits').value),
    ...over,
  };
}

/** Shows the settings a run uses in the controls (the test API may have overridden them). */
function showSettings(s: Settings): void {
  $<HTMLSelectElement>('backend').value = s.backend;
  $<HTMLInputElement>('batch').value = String(s.batchSize);
  $<HTMLSelectElement>('sigma').value = s.sigma;
  $<HTMLInputElement>('steps').value = String(s.maxSteps);
  $<HTMLInputElement>('seed').value = String(s.seed);
  $<HTMLSelectElement>('bits').value = String(s.bits);
}

function specOf(s: Settings, task: Task, trainer: Trainer, resume: boolean): RunSpec {
  const spec = { task, trainer, backend: s.backend, batchSize: s.batchSize, sigma: s.sigma, seed: s.seed, maxSteps: s.maxSteps, evalEvery: EVAL_EVERY, resume };
  return task === 'shrink' ? { ...spec, bits: s.bits } : spec;
}

function viewOf(tab: TabView, trainer: Trainer): RunView {
  const line = document.createElement('div');
  tab.status.append(line);
  const view: RunView = {
    name: SERIES[trainer],
    loss: tab.loss,
    acc: tab.acc,
    status: (text, isError) => {
      line.textContent = text;
      line.className = isError ? 'error' : '';
    },
  };
  const table = shrink;
  return trainer === 'shrink' && table !== null ? { ...view, onReport: (r) => table.onReport(r) } : view;
}

function setRunning(on: boolean): void {
  for (const id of ['pause', 'resume', 'stop', 'save']) $<HTMLButtonElement>(id).disabled = !on;
  for (const id of ['start', 'load']) $<HTMLButtonElement>(id).disabled = on;
  // The shrink run saves no optimizer state: it offers its packed weights instead.
  if (on && runs.rso === undefined) $<HTMLButtonElement>('save').disabled = true;
}

/**
 * Starts RSO (and Adam) on the active tab, or the quantize-and-repair run on the shrink tab; resolves with every
 * run's outcome. `pauseAt` pauses RSO at that step.
 */
async function start(over: Partial<Settings> = {}, resume = false, pauseAt?: number): Promise<Outcome[]> {
  const s = settings(over);
  showSettings(s);
  const tab = tabs[active];
  if (!resume) [tab.loss, tab.acc].forEach((c) => c.clear());
  tab.status.textContent = '';
  const trainers: Trainer[] = active === 'shrink' ? ['shrink'] : s.adam && !resume ? ['rso', 'adam'] : ['rso'];
  if (active === 'shrink') shrink?.reset();
  runs = Object.fromEntries(trainers.map((t) => [t, startRun(specOf(s, active, t, resume), viewOf(tab, t), t === 'rso' ? pauseAt : undefined)]));
  setRunning(true);
  try {
    return await Promise.all(Object.values(runs).map((r) => r.done));
  } finally {
    setRunning(false);
  }
}

const rso = (): RunHandle => {
  if (runs.rso === undefined) throw new Error('no RSO run: press Start first');
  return runs.rso;
};
const each = (type: 'pause' | 'resume' | 'stop') => Object.values(runs).forEach((r) => r.post(type));

/** Saves the RSO run (model and optimizer state to IndexedDB, settings and chart points to localStorage). */
async function save(): Promise<number> {
  const run = rso();
  const saved = run.next('saved');
  run.post('save');
  const step = await saved;
  const tab = tabs[run.spec.task];
  const points = { loss: tab.loss.points().filter((p) => p.run === 'RSO'), acc: tab.acc.points().filter((p) => p.run === 'RSO') };
  localStorage.setItem(SAVED_KEY, JSON.stringify({ spec: run.spec, points }));
  return step;
}

/** Loads the saved run and continues it to its step count. */
async function continueSaved(): Promise<Outcome[]> {
  const raw = localStorage.getItem(SAVED_KEY);
  if (raw === null) throw new Error('nothing saved yet');
  const { spec, points } = JSON.parse(raw) as { spec: RunSpec; points: { loss: Point[]; acc: Point[] } };
  selectTab(spec.task);
  const tab = tabs[spec.task];
  [tab.loss, tab.acc].forEach((c) => c.clear());
  points.loss.forEach((p) => tab.loss.add(p));
  points.acc.forEach((p) => tab.acc.add(p));
  return start({ backend: spec.backend, batchSize: spec.batchSize, sigma: spec.sigma, maxSteps: spec.maxSteps, seed: spec.seed, adam: false }, true);
}

function selectTab(task: Task): void {
  active = task;
  for (const t of TASKS) {
    $(`tab-${t}`).setAttribute('aria-selected', String(t === task));
    $(`panel-${t}`).hidden = t !== task;
  }
}

async function makeTab(task: Task): Promise<TabView> {
  const loss = await createChart($(`${task}-loss`), 'Training loss (batch)', 'loss');
  const acc = await createChart($(`${task}-acc`), 'Test accuracy', 'accuracy', true);
  return { task, loss, acc, status: $(`${task}-status`) };
}

async function offerWebgpu(): Promise<void> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
  const option = $<HTMLSelectElement>('backend').querySelector('option[value="webgpu"]') as HTMLOptionElement;
  option.disabled = adapter === null;
  if (adapter !== null) option.textContent = 'webgpu';
}

/** Wires the controls to the functions above; errors go to the status line, never to the console. */
function wire(): void {
  const report = (p: Promise<unknown>) => p.catch((e: unknown) => tabs[active].status.append(` ${e instanceof Error ? e.message : String(e)}`));
  $('start').onclick = () => void report(start());
  $('pause').onclick = () => each('pause');
  $('resume').onclick = () => each('resume');
  $('stop').onclick = () => each('stop');
  $('save').onclick = () => void report(save());
  $('load').onclick = () => void report(continueSaved());
  $('tab-conv').onclick = () => selectTab('conv');
  $('tab-threshold').onclick = () => selectTab('threshold');
  $('tab-shrink').onclick = () => selectTab('shrink');
  $<HTMLSelectElement>('xaxis').onchange = (e) => {
    const x = (e.target as HTMLSelectElement).value as XAxis;
    void report(Promise.all(Object.values(tabs).flatMap((t) => [t.loss.setX(x), t.acc.setX(x)])));
  };
}

let running: Promise<Outcome[]> = Promise.resolve([]);

/** What the browser test drives. */
const api = {
  start: (over: Partial<Settings> = {}) => start(over),
  /** Starts without waiting (RSO pausing at step `pauseAt`, if given); `finished` waits. */
  begin: (over: Partial<Settings> = {}, pauseAt?: number) => void (running = start(over, false, pauseAt)),
  finished: () => running,
  pause: async () => {
    const paused = rso().next('paused');
    each('pause');
    return paused;
  },
  resume: () => each('resume'),
  stop: () => each('stop'),
  save,
  continueSaved,
  reach: (step: number) => rso().reach(step),
  runTo: (step: number) => rso().runTo(step),
  step: () => rso().step,
  statusText: (task: Task) => tabs[task].status.innerText,
  /** The shrink tab's table (values and cells as shown) and the bytes its download link serves. */
  shrinkTable: () => {
    if (shrink === null) throw new Error('the page has not started');
    return shrink.read();
  },
  selectTab,
  frames: () => frames.read(),
  resetFrames: () => frames.reset(),
  /** Draws what is queued, then reports what each chart of the tab holds and shows. */
  charts: async (task: Task) => {
    const t = tabs[task];
    await Promise.all([t.loss.flush(), t.acc.flush()]);
    const runsOf = (c: Chart) => [...new Set(c.points().map((p) => p.run))];
    return {
      lossPoints: t.loss.count(),
      accPoints: t.acc.count(),
      lossLines: t.loss.drawn().lines.length,
      accLines: t.acc.drawn().lines.length,
      loss: { runs: runsOf(t.loss), ...t.loss.drawn() },
      acc: { runs: runsOf(t.acc), ...t.acc.drawn() },
    };
  },
};

async function main(): Promise<void> {
  tabs.conv = await makeTab('conv');
  tabs.threshold = await makeTab('threshold');
  tabs.shrink = await makeTab('shrink');
  shrink = createShrinkView($('shrink-table-body'), $('shrink-download'), $('shrink-reload'), tabs.shrink.acc);
  wire();
  await offerWebgpu();
  $<HTMLButtonElement>('load').disabled = localStorage.getItem(SAVED_KEY) === null;
  frames.show($('frames'));
}

(globalThis as unknown as { rsoDemo: Promise<typeof api> }).rsoDemo = main().then(() => api);
