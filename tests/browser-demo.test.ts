// The browser demo (examples/browser/) in Debian's Chromium, driven by playwright-core: training in a Web Worker
// on webgl (SwiftShader), wasm and cpu, the charts, the page's responsiveness, exact pause/resume/save/reload,
// the hard-threshold tab and the shrink tab. Without a browser the suite is skipped (under CI it fails); .ci/run installs one.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemo } from '../examples/browser/build.js';
import { serveDemo } from '../examples/browser/serve.js';
import type { DemoServer } from '../examples/browser/serve.js';
import { CHROMIUM, RUN_BROWSER_SUITES, requireBrowser } from './browser-available.js';
import { TRAINER_COLOURS } from '../examples/browser/app/colours.js';
import type { ShrinkTable } from '../examples/browser/app/protocol.js';
import { FLOAT_MODEL_DIR } from '../examples/lib/float-model.js';

// A small MNIST subset and a few hundred steps keep the three backends within a few minutes on 2 cores.
const DATA = { trainImages: 1024, testImages: 200 };
const STEPS = 150;
// webgl on SwiftShader is the slowest backend here: fewer steps (the dense layer and the first conv scalars).
const STEPS_ON: Record<string, number> = { webgl: 100, wasm: STEPS, cpu: STEPS };
const BATCH = 64;
const SEED = 7;
// Responsiveness bounds. Training runs in workers, so the page's main thread only draws the charts (a few ms
// per redraw, at most every 250 ms) and a frame comes every ~17 ms when the machine is idle.
// - Longest task: how long one task held the main thread (the browser's long-task entries, over 50 ms). 1 s is
//   what training on the page itself does between two yields of rso.fit (125 ms plus the step that ends the
//   chunk; one Adam step of this net on cpu takes over 2 s here). Measured here: at most 548 ms, with two
//   browser suites, the Node suites and a busy loop sharing the 2 cores.
// - Frames must keep coming (more than 10), but their gaps and a timer's lateness are printed, not bounded: both
//   also count time the operating system gave other processes (and, for frames, the GPU process's queue, which a
//   webgl worker fills on SwiftShader), so under load they measure the machine, not the page. On a loaded
//   machine a 50 ms timer once fired 1.02 s late and a frame gap reached 2.02 s while the longest task was 548 ms.
const LONGEST_TASK_BOUND_MS = 1000;
// The shrink tab's repair: a few hundred steps (the logits, then the first of the last conv's 2,304 weights) on
// batches of 128. From calibrated codes that many steps move the test loss by batch noise, up or down (the
// benchmarks repair on batches of 2,000), so the test checks the workflow's ends, not the loss's direction.
const SHRINK_STEPS = 300;
const SHRINK_BATCH = 128;

let dir = '';
let server: DemoServer | null = null;
let browser: Browser | null = null;

beforeAll(async () => {
  if (!RUN_BROWSER_SUITES) return;
  requireBrowser();
  dir = mkdtempSync(join(tmpdir(), 'rso-demo-'));
  await buildDemo(dir, { ...DATA, minify: true });
  server = await serveDemo(dir, 0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  mkdirSync('out', { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  trainer: string;
  backend: string;
  threads: number;
  error?: string;
  result?: {
    step: number; startStep: number; seconds: number; stopped: boolean; weights: number[]; leaked: number; tests: { step: number; acc: number; loss: number }[];
    shrink?: { table: ShrinkTable; packed: Uint8Array };
  };
}

interface Opened {
  page: Page;
  errors: string[];
}

/** Opens the demo in a page of one browser context (so IndexedDB persists across reloads within it). */
async function open(page: Page): Promise<Opened> {
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server!.url);
  await page.evaluate(() => (globalThis as unknown as { rsoDemo: Promise<unknown> }).rsoDemo);
  return { page, errors };
}

type Demo = Record<string, (...a: unknown[]) => Promise<unknown>>;

/** Runs `api.<name>(...args)` in the page, with the weights of any outcome as plain arrays. */
async function call<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(async ([name, args]) => {
    const api = (await (globalThis as unknown as { rsoDemo: Promise<Demo> }).rsoDemo);
    const out = await api[name as string]!(...(args as unknown[]));
    const plain = (o: { result?: { weights: Float32Array } }) => (o.result ? { ...o, result: { ...o.result, weights: Array.from(o.result.weights) } } : o);
    return (Array.isArray(out) ? out.map(plain) : out) as unknown;
  }, [name, args] as const) as Promise<T>;
}

const rsoOf = (outcomes: Outcome[]) => outcomes.find((o) => o.trainer === 'RSO')!;

interface ChartView {
  runs: string[];
  legend: { run: string; colour: string }[];
  lines: string[];
  dots: number;
}
interface Charts {
  lossPoints: number;
  accPoints: number;
  lossLines: number;
  accLines: number;
  loss: ChartView;
  acc: ChartView;
}

/** Every series has its own colour in every chart, and a legend lists exactly the series its chart holds. */
function expectOneColourPerTrainer(charts: Charts): void {
  const colours = TRAINER_COLOURS;
  expect(new Set(Object.values(colours)).size, 'one colour per series').toBe(Object.keys(colours).length);
  for (const [name, chart] of [['loss', charts.loss], ['accuracy', charts.acc]] as const) {
    expect(chart.legend.map((e) => e.run).sort(), `${name} legend`).toEqual([...chart.runs].sort());
    for (const e of chart.legend) expect(e.colour.toLowerCase(), `${name} legend: ${e.run}`).toBe(colours[e.run]);
    for (const stroke of chart.lines) expect(chart.legend.map((e) => e.colour.toLowerCase()), `${name} line colour`).toContain(stroke.toLowerCase());
  }
}

describe.runIf(RUN_BROWSER_SUITES)('the browser demo in Chromium', () => {
  for (const backend of ['webgl', 'wasm', 'cpu'] as const) {
    it(`trains in a Web Worker on ${backend}: the test loss falls, both charts draw, no console error, frames keep coming and the main thread is never held, no leaked tensor`, async () => {
      const { page, errors } = await open(await browser!.newPage());
      await call(page, 'resetFrames');
      // Adam runs alongside on wasm only (the screenshot of tab 1): it is slow on the other two here.
      const adam = backend === 'wasm';
      const steps = STEPS_ON[backend]!;
      const outcomes = await call<Outcome[]>(page, 'start', { backend, maxSteps: steps, batchSize: BATCH, seed: SEED, adam });
      const frames = await call<{ count: number; maxGapMs: number; maxGapAtMs: number; maxTaskMs: number; maxTaskLagMs: number }>(page, 'frames');
      const charts = await call<Charts>(page, 'charts', 'conv');
      const rso = rsoOf(outcomes);
      expect(rso.error, `RSO on ${backend}`).toBeUndefined();
      const r = rso.result!;
      expect(rso.backend).toBe(backend);
      expect(r.step).toBe(steps);
      expect(r.leaked).toBe(0);
      const [first, last] = [r.tests[0]!, r.tests[r.tests.length - 1]!];
      expect([first.step, last.step]).toEqual([0, steps]);
      expect(last.loss).toBeLessThan(first.loss);
      expect(charts['lossPoints']).toBeGreaterThanOrEqual(steps);
      expect(charts['accPoints']).toBeGreaterThanOrEqual(r.tests.length);
      expect(charts['lossLines']).toBeGreaterThanOrEqual(1);
      expect(charts['accLines']).toBeGreaterThanOrEqual(1);
      expectOneColourPerTrainer(charts);
      if (adam) {
        const a = outcomes.find((o) => o.trainer === 'Adam')!;
        expect(a.error).toBeUndefined();
        expect(a.result!.tests.at(-1)!.loss).toBeLessThan(a.result!.tests[0]!.loss);
        expect(charts['lossLines']).toBe(2);
        expect(charts.loss.runs.sort()).toEqual(['Adam', 'RSO']);
        await page.screenshot({ path: 'out/browser-demo-conv.png', fullPage: true });
      }
      console.log(
        `${backend} (${rso.threads} thread${rso.threads > 1 ? 's' : ''}): RSO ${steps} steps in ${r.seconds.toFixed(1)} s of training = ${(steps / r.seconds).toFixed(2)} steps/s; ` +
          `test loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}, accuracy ${first.acc.toFixed(3)} → ${last.acc.toFixed(3)}; ` +
          `${frames.count} frames, longest gap ${frames.maxGapMs.toFixed(0)} ms at ${frames.maxGapAtMs.toFixed(0)} ms; longest task ${frames.maxTaskMs.toFixed(0)} ms, worst timer lag ${frames.maxTaskLagMs.toFixed(0)} ms`,
      );
      expect(frames.count).toBeGreaterThan(10);
      expect(frames.maxTaskMs).toBeLessThan(LONGEST_TASK_BOUND_MS);
      if (adam) {
        // The measure sees a held thread: a 300 ms task on the page is counted.
        await page.evaluate(() => {
          setTimeout(() => {
            const until = performance.now() + 300;
            while (performance.now() < until);
          }, 0);
        });
        await expect.poll(async () => (await call<{ maxTaskMs: number }>(page, 'frames')).maxTaskMs).toBeGreaterThanOrEqual(290);
      }
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('pause, resume, save to IndexedDB, reload and continue give bit for bit the weights of an uninterrupted run (wasm, seed 7)', async () => {
    const settings = { backend: 'wasm', maxSteps: STEPS, batchSize: BATCH, seed: SEED, adam: false };
    const { page, errors } = await open(await browser!.newPage());
    const straight = rsoOf(await call<Outcome[]>(page, 'start', settings)).result!;
    await page.reload();
    await open(page);
    // The pauses are placed ahead (pause at step k), not sent while the run races on: a run of this net takes
    // about a second here, so a pause sent after a step was seen could land after the run's end.
    await call(page, 'begin', settings, 40);
    expect(await call<number>(page, 'runTo', 40)).toBe(40);
    // A paused run does not move: the step is the same after a while.
    await page.waitForTimeout(300);
    expect(await call<number>(page, 'step')).toBe(40);
    expect(await call<number>(page, 'runTo', 90)).toBe(90);
    expect(await call<number>(page, 'save')).toBe(90);
    // Reloading ends the worker mid-run; the saved model and optimizer state live on in IndexedDB.
    await page.reload();
    await open(page);
    const resumed = rsoOf(await call<Outcome[]>(page, 'continueSaved')).result!;
    expect([resumed.startStep, resumed.step]).toEqual([90, STEPS]);
    expect(resumed.leaked).toBe(0);
    expect(resumed.weights.length).toBe(straight.weights.length);
    expect(resumed.weights).toEqual(straight.weights);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a pause or a save asked for once the run has ended says so at once, instead of waiting forever (wasm)', async () => {
    const { page, errors } = await open(await browser!.newPage());
    await call(page, 'start', { backend: 'wasm', maxSteps: 5, batchSize: BATCH, seed: SEED, adam: false });
    await expect(call(page, 'pause')).rejects.toThrow(/the RSO run has ended \(step 5\)/);
    await expect(call(page, 'save')).rejects.toThrow(/the RSO run has ended \(step 5\)/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('tab 2: Adam stops with "gradient function not found" on the page, RSO trains the hard-threshold net (wasm, seed 7)', async () => {
    const { page, errors } = await open(await browser!.newPage());
    await call(page, 'selectTab', 'threshold');
    const outcomes = await call<Outcome[]>(page, 'start', { backend: 'wasm', maxSteps: STEPS, batchSize: BATCH, seed: SEED, adam: true });
    const adam = outcomes.find((o) => o.trainer === 'Adam')!;
    expect(adam.error).toMatch(/gradient function not found for Greater/);
    expect(await call<string>(page, 'statusText', 'threshold')).toMatch(/Adam stopped with an error: .*gradient function not found for Greater/);
    const r = rsoOf(outcomes).result!;
    expect(r.step).toBe(STEPS);
    expect(r.tests.at(-1)!.loss).toBeLessThan(r.tests[0]!.loss);
    const charts = await call<Charts>(page, 'charts', 'threshold');
    expect(charts['lossLines']).toBeGreaterThanOrEqual(1);
    expect(charts['accLines']).toBeGreaterThanOrEqual(1);
    // Adam stops at its first step, so neither chart (nor its legend) lists it; each RSO test is a dot.
    expect(charts.loss.runs).toEqual(['RSO']);
    expect(charts.acc.runs).toEqual(['RSO']);
    expect(charts.acc.dots).toBe(r.tests.length);
    expectOneColourPerTrainer(charts);
    expect(errors).toEqual([]);
    await page.screenshot({ path: 'out/browser-demo-threshold.png', fullPage: true });
    console.log(`threshold net: RSO test loss ${r.tests[0]!.loss.toFixed(4)} → ${r.tests.at(-1)!.loss.toFixed(4)}, accuracy ${r.tests[0]!.acc.toFixed(3)} → ${r.tests.at(-1)!.acc.toFixed(3)}; Adam: ${adam.error}`);
    await page.close();
  });

  it('tab 3: shrinks the float MNIST model to ternary in the worker: rounding costs accuracy, calibration wins most back, RSO on the grid repairs from there, the packed file is the smallest and reloads to the same predictions (wasm, seed 7)', async () => {
    const { page, errors } = await open(await browser!.newPage());
    await call(page, 'selectTab', 'shrink');
    const outcomes = await call<Outcome[]>(page, 'start', { backend: 'wasm', maxSteps: SHRINK_STEPS, batchSize: SHRINK_BATCH, seed: SEED, bits: 2 });
    expect(outcomes.map((o) => o.trainer)).toEqual(['RSO repair']);
    const run = outcomes[0]!;
    expect(run.error).toBeUndefined();
    const r = run.result!;
    expect(r.step).toBe(SHRINK_STEPS);
    expect(r.leaked).toBe(0);
    const shown = await call<{ table: ShrinkTable; cells: string[][]; download: { name: string; bytes: number } | null }>(page, 'shrinkTable');
    const t = shown.table;
    expect(r.shrink!.table).toEqual(t);
    expect(t.bits).toBe(2);
    // Accuracy: rounding to the ternary grid costs much, calibration wins most of it back, the repair starts there.
    const [first, last] = [r.tests[0]!, r.tests.at(-1)!];
    expect([first.step, last.step]).toEqual([0, SHRINK_STEPS]);
    expect([first.acc, last.acc]).toEqual([t.calibratedAcc, t.repairedAcc]);
    expect(t.roundedAcc).toBeLessThan(t.calibratedAcc);
    // Calibration wins most of the rounding's loss back (on this test subset it may reach the float model).
    expect(t.calibratedAcc).toBeGreaterThan((t.roundedAcc + t.floatAcc) / 2);
    expect(t.repairedAcc).toBeGreaterThan(t.roundedAcc);
    // Bytes: weights.bin as served, then a converter's uint8 copy, then the packed file (its size is fixed by the shapes).
    expect(t.floatBytes).toBe(statSync(join(FLOAT_MODEL_DIR, 'weights.bin')).size);
    expect(t.packedBytesAfter).toBe(t.packedBytesBefore);
    expect(t.packedBytesAfter).toBeLessThan(t.uint8Bytes);
    expect(t.uint8Bytes).toBeLessThan(t.floatBytes);
    expect(t.reloadMatches).toBe(true);
    expect(shown.download).toEqual({ name: 'mnist-ternary.rsoq', bytes: t.packedBytesAfter });
    expect(r.shrink!.packed.length).toBe(t.packedBytesAfter);
    expect(shown.cells.map((row) => row[0])).toEqual([
      'float32 (weights.bin)', 'uint8, converter-style (a byte per weight, min and scale per tensor)',
      'ternary, packed, rounded to nearest', 'ternary, packed, calibrated (quantizeCalibrated)', 'ternary, packed, after RSO repair',
    ]);
    expect(shown.cells[3]![1]).toBe(`${(100 * t.calibratedAcc).toFixed(2)}%`);
    expect(shown.cells[4]![1]).toBe(`${(100 * t.repairedAcc).toFixed(2)}%`);
    // Charts: the repair's loss; its accuracy beside the float model's, a dot per test in each series.
    const charts = await call<Charts>(page, 'charts', 'shrink');
    expect(charts.loss.runs).toEqual(['RSO repair']);
    expect(charts.acc.runs.sort()).toEqual(['Float model', 'RSO repair']);
    expect(charts['lossPoints']).toBeGreaterThanOrEqual(SHRINK_STEPS);
    expect(charts['lossLines']).toBe(1);
    expect(charts['accLines']).toBe(2);
    expect(charts.acc.dots).toBe(2 * r.tests.length);
    expectOneColourPerTrainer(charts);
    expect(errors).toEqual([]);
    await page.screenshot({ path: 'out/browser-demo-shrink.png', fullPage: true });
    console.log(
      `shrink (ternary, ${SHRINK_STEPS} steps of batch ${SHRINK_BATCH} in ${r.seconds.toFixed(1)} s of training): accuracy float ${t.floatAcc.toFixed(3)}, rounded ${t.roundedAcc.toFixed(3)}, calibrated ${t.calibratedAcc.toFixed(3)}, ` +
        `repaired ${t.repairedAcc.toFixed(3)}; test loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}; bytes float32 ${t.floatBytes}, uint8 ${t.uint8Bytes}, packed ${t.packedBytesAfter}; reload matches: ${t.reloadMatches}`,
    );
    await page.close();
  });
});
