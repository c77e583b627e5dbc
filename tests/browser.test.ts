// The main entry in a real browser: Debian's Chromium, driven by playwright-core, trains with rso.fit in a page
// and in a Web Worker, and the model engine's equivalence row runs on webgl. Without a browser the suite is skipped
// (under CI it fails); .ci/run installs one.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertEquivalent } from './equivalence-assert.js';
import type { EquivalenceReport } from './equivalence-runs.js';

import { CHROMIUM, RUN_BROWSER_SUITES, requireBrowser } from './browser-available.js';
const here = resolve('tests/browser');
let dir = '';
let server: ReturnType<typeof createServer> | null = null;
let url = '';

beforeAll(async () => {
  if (!RUN_BROWSER_SUITES) return;
  requireBrowser();
  dir = mkdtempSync(join(tmpdir(), 'rso-browser-'));
  // Bundled from the sources for the browser: a Node built-in anywhere in the main entry fails the build.
  for (const name of ['page', 'worker', 'equivalence-page']) {
    await build({
      entryPoints: [join(here, name === 'equivalence-page' ? `${name}.ts` : `${name}.js`)],
      bundle: true,
      platform: 'browser',
      format: name === 'page' ? 'esm' : 'iife',
      outfile: join(dir, `${name}.bundle.js`),
      alias: { 'tfjs-rso': resolve('src/index.ts') },
      logLevel: 'error',
    });
  }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>rso smoke</title><link rel="icon" href="data:,"><script type="module" src="page.bundle.js"></script>');
  writeFileSync(join(dir, 'equivalence.html'), '<!doctype html><meta charset="utf-8"><title>rso equivalence</title><link rel="icon" href="data:,"><script type="module" src="equivalence-page.bundle.js"></script>');
  server = createServer((req, res) => {
    const file = join(dir, (req.url ?? '/') === '/' ? 'index.html' : req.url!.slice(1));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': extname(file) === '.html' ? 'text/html' : 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((done) => (server === null ? done() : server.close(() => done())));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Result {
  readonly steps: number;
  readonly loss: number[];
  readonly valAcc: number[];
  readonly engine: string;
  readonly tensors: number;
  readonly leaked: number;
}

describe.runIf(RUN_BROWSER_SUITES)('in Chromium', () => {
  it('trains with rso.fit in a page and in a Web Worker, with no console error and no leaked tensor', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const lines: string[] = [];
      page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : lines.push(m.text())));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const { page: inPage, worker } = (await page.evaluate(() => (globalThis as unknown as { smoke: Promise<unknown> }).smoke)) as { page: Result; worker: Result };
      for (const [where, r] of [['page', inPage], ['worker', worker]] as const) {
        // 4·8 + 8 + 8·3 + 3 = 67 scalars, 3 cycles.
        expect(r.steps, where).toBe(201);
        expect(r.engine, where).toBe('model');
        expect(r.loss.every(Number.isFinite), where).toBe(true);
        expect(r.loss[2]!, where).toBeLessThan(r.loss[0]!);
        expect(r.valAcc.every((a) => a >= 0 && a <= 1), where).toBe(true);
        expect(r.leaked, where).toBe(0);
      }
      // The page and the worker run the same seeded search.
      expect(worker.loss).toEqual(inPage.loss);
      expect(errors).toEqual([]);
      expect(lines.filter((l) => l.startsWith('RSO cycle 3/3')).length).toBeGreaterThanOrEqual(1);
    } finally {
      await browser.close();
    }
  }, 120_000);

  // SwiftShader computes in float32 as the cpu backend does, but webgl's kernels (shaders, packed textures)
  // sum in other orders; the stated tolerance is the Node rows'.
  const WEBGL_LOSS_TOLERANCE = 1e-5;

  it('the model engine ≡ the closure path on webgl for a conv net with BN: same candidate losses (1e-5 relative) and decisions up to a reported near-tie, no leaked tensor', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${url}equivalence.html`);
      const out = (await page.evaluate(() => (globalThis as unknown as { equivalence: Promise<unknown> }).equivalence)) as { backend: string; report: EquivalenceReport; leaked: number; error?: string };
      expect(out.error).toBeUndefined();
      expect(out.backend).toBe('webgl');
      assertEquivalent('webgl, Sequential conv/BN/pool/dense', out.report, { usesDeltas: true, batched: false, lossTolerance: WEBGL_LOSS_TOLERANCE });
      expect(out.leaked).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
