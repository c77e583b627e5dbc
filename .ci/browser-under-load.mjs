// Runs the browser suites N times in a row while the other core is kept busy, and stops at the first failure.
// Usage: node .ci/browser-under-load.mjs [runs=20] [--load busy|suites]
//   busy   (default) a busy loop in a child process on one core;
//   suites the Node suites (npm test without the browser files), restarted whenever they end.
// Prints one line per run and the count of runs that passed in a row; exits 1 on a failure, with its log.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20);
const load = process.argv.includes('suites') ? 'suites' : 'busy';

function startLoad() {
  if (load === 'busy') return { child: spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }), stop() { this.child.kill(); } };
  let stopped = false;
  let child = null;
  const again = () => {
    if (stopped) return;
    child = spawn('npx', ['vitest', 'run', '--exclude', 'tests/browser*'], { stdio: 'ignore', env: { ...process.env, CHROMIUM_PATH: '/nonexistent' } });
    child.on('exit', again);
  };
  again();
  return { stop: () => ((stopped = true), child?.kill()) };
}

function runSuites() {
  return new Promise((done) => {
    const child = spawn('npx', ['vitest', 'run', 'tests/browser'], { env: process.env });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('exit', (code) => done({ code, log }));
  });
}

const busy = startLoad();
let passed = 0;
try {
  for (let k = 1; k <= runs; k++) {
    const t0 = Date.now();
    const { code, log } = await runSuites();
    const seconds = ((Date.now() - t0) / 1000).toFixed(0);
    if (code !== 0) {
      writeFileSync('browser-under-load.log', log);
      console.log(`run ${k}: FAILED after ${seconds} s (log in browser-under-load.log); ${passed} passed in a row before it`);
      process.exitCode = 1;
      break;
    }
    passed++;
    console.log(`run ${k}: passed (${seconds} s), load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  }
} finally {
  busy.stop();
}
console.log(`${passed} of ${runs} runs of the browser suites passed in a row, other core: ${load === 'busy' ? 'a busy loop' : 'the Node suites'}`);
