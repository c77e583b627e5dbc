import embed, { vega } from 'vega-embed';
import type { Result, VisualizationSpec } from 'vega-embed';

/** One point of a series: a run (RSO, Adam) at a step and a training time. */
export interface Point {
  readonly run: string;
  readonly step: number;
  readonly seconds: number;
  readonly value: number;
}

/** What the x axis counts. */
export type XAxis = 'step' | 'seconds';

/** A live line chart: points are queued and drawn in batches, so a fast trainer cannot flood the page. */
export interface Chart {
  add(p: Point): void;
  clear(): void;
  setX(x: XAxis): Promise<void>;
  /** Points the chart's view holds (drawn or about to be). */
  count(): number;
  /** Line marks with a drawn path in the chart's SVG. */
  drawnLines(): number;
  points(): readonly Point[];
  /** Draws the queued points now. */
  flush(): void;
}

// Redraw at most this often: a redraw of a few thousand points takes a few ms of the page's main thread.
const FLUSH_MS = 250;

function spec(title: string, yTitle: string, x: XAxis, values: readonly Point[]): VisualizationSpec {
  return {
    title,
    // resize: the legend grows when a series first appears, and the view must grow with it.
    autosize: { type: 'pad', resize: true },
    width: 360,
    height: 200,
    data: { name: 'points', values: [...values] },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      x: { field: x, type: 'quantitative', title: x === 'step' ? 'steps' : 'seconds of training' },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null },
    },
  };
}

/** Creates a chart in `el` (vega-lite through vega-embed, drawn as SVG). */
export async function createChart(el: HTMLElement, title: string, yTitle: string): Promise<Chart> {
  const all: Point[] = [];
  let pending: Point[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let x: XAxis = 'step';
  let view: Result['view'] = (await embed(el, spec(title, yTitle, x, all), { actions: false, renderer: 'svg' })).view;
  const flush = () => {
    timer = null;
    if (pending.length === 0) return;
    view.change('points', vega.changeset().insert(pending)).run();
    pending = [];
  };
  return {
    add(p) {
      all.push(p);
      pending.push(p);
      timer ??= setTimeout(flush, FLUSH_MS);
    },
    clear() {
      all.length = 0;
      pending = [];
      view.change('points', vega.changeset().remove(() => true)).run();
    },
    async setX(next) {
      x = next;
      pending = [];
      view.finalize();
      view = (await embed(el, spec(title, yTitle, x, all), { actions: false, renderer: 'svg' })).view;
    },
    count: () => (view.data('points') as unknown[]).length,
    drawnLines: () => [...el.querySelectorAll('.mark-line path')].filter((p) => (p.getAttribute('d') ?? '').length > 0).length,
    points: () => all,
    flush,
  };
}
