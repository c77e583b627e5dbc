import embed, { vega } from 'vega-embed';
import type { Result, VisualizationSpec } from 'vega-embed';
import { OTHER_COLOUR, TRAINER_COLOURS } from './colours.js';

/** One point of a series: a run (RSO, Adam) at a step and a training time. */
export interface Point {
  readonly run: string;
  readonly step: number;
  readonly seconds: number;
  readonly value: number;
}

/** What the x axis counts. */
export type XAxis = 'step' | 'seconds';

/** What a chart shows, read back from its SVG: the legend's entries and the stroke of each drawn line. */
export interface Drawn {
  /** Legend entries in order, each with the colour of its symbol. */
  readonly legend: readonly { readonly run: string; readonly colour: string }[];
  /** The stroke colour of every line mark with a drawn path. */
  readonly lines: readonly string[];
  /** Point marks drawn (the accuracy chart marks each test). */
  readonly dots: number;
}

/** A live line chart: points are queued and drawn in batches, so a fast trainer cannot flood the page. */
export interface Chart {
  add(p: Point): void;
  clear(): void;
  /** Removes every point of one series (and its legend entry). */
  remove(run: string): void;
  setX(x: XAxis): Promise<void>;
  /** Points the chart's view holds (drawn or about to be). */
  count(): number;
  /** What the SVG shows now. */
  drawn(): Drawn;
  points(): readonly Point[];
  /** Draws the queued points now; resolves once they are rendered. */
  flush(): Promise<void>;
}

// Redraw at most this often: a redraw of a few thousand points takes a few ms of the page's main thread.
const FLUSH_MS = 250;

const colourOf = (run: string) => TRAINER_COLOURS[run] ?? OTHER_COLOUR;
const ORDER = Object.keys(TRAINER_COLOURS);
const rank = (run: string) => (ORDER.includes(run) ? ORDER.indexOf(run) : ORDER.length);

/**
 * The chart's spec. The colour scale's domain is the series the chart has (so the legend lists only those) and
 * its range maps each to its trainer's colour (so a trainer keeps its colour whatever else is drawn).
 */
function spec(title: string, yTitle: string, x: XAxis, values: readonly Point[], runs: readonly string[], dots: boolean): VisualizationSpec {
  return {
    title,
    // resize: the legend grows when a series first appears, and the view must grow with it.
    autosize: { type: 'pad', resize: true },
    width: 360,
    height: 200,
    data: { name: 'points', values: [...values] },
    mark: { type: 'line', interpolate: 'linear', point: dots },
    encoding: {
      x: { field: x, type: 'quantitative', title: x === 'step' ? 'steps' : 'seconds of training' },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null, scale: { domain: [...runs], range: runs.map(colourOf) } },
    },
  };
}

/**
 * Creates a chart in `el` (vega-lite through vega-embed, drawn as SVG). `dots` marks every point, for sparse
 * series such as test accuracy, where a run that stops after its first test still shows.
 */
export async function createChart(el: HTMLElement, title: string, yTitle: string, dots = false): Promise<Chart> {
  const all: Point[] = [];
  let pending: Point[] = [];
  let runs: string[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let x: XAxis = 'step';
  const make = async () => (await embed(el, spec(title, yTitle, x, all, runs, dots), { actions: false, renderer: 'svg' })).view;
  let view: Result['view'] = await make();
  // Draws run one after another, so a redraw never races the re-embedding that a new series needs.
  let drawing: Promise<void> = Promise.resolve();
  const redraw = async (batch: Point[]) => {
    const fresh = [...new Set(batch.map((p) => p.run))].filter((r) => !runs.includes(r));
    if (fresh.length > 0) {
      runs = [...runs, ...fresh].sort((a, b) => rank(a) - rank(b));
      view.finalize();
      view = await make();
    } else await view.change('points', vega.changeset().insert(batch)).runAsync();
  };
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    if (batch.length > 0) drawing = drawing.then(() => redraw(batch));
    return drawing;
  };
  return {
    add(p) {
      all.push(p);
      pending.push(p);
      timer ??= setTimeout(() => void flush(), FLUSH_MS);
    },
    clear() {
      all.length = 0;
      pending = [];
      runs = [];
      drawing = drawing.then(async () => {
        view.finalize();
        view = await make();
      });
    },
    remove(run) {
      all.splice(0, all.length, ...all.filter((p) => p.run !== run));
      pending = pending.filter((p) => p.run !== run);
      runs = runs.filter((r) => r !== run);
      drawing = drawing.then(async () => {
        view.finalize();
        view = await make();
      });
    },
    async setX(next) {
      x = next;
      pending = [];
      drawing = drawing.then(async () => {
        view.finalize();
        view = await make();
      });
      await drawing;
    },
    count: () => (view.data('points') as unknown[]).length,
    drawn: () => {
      const symbols = [...el.querySelectorAll('.role-legend-symbol path')];
      const paint = (e: Element | undefined) => e?.getAttribute('stroke') ?? e?.getAttribute('fill') ?? '';
      return {
        legend: [...el.querySelectorAll('.role-legend-label text')].map((t, k) => ({ run: t.textContent ?? '', colour: paint(symbols[k]) })),
        lines: [...el.querySelectorAll('.mark-line path')].filter((p) => (p.getAttribute('d') ?? '').length > 0).map((p) => p.getAttribute('stroke') ?? ''),
        dots: el.querySelectorAll('.mark-symbol.role-mark path').length,
      };
    },
    points: () => all,
    flush,
  };
}
