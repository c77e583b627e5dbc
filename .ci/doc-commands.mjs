// Every command the docs give (README.md, docs/guide.md, docs/benchmarks.md), and how CI exercises it.
//
// Usage: node .ci/doc-commands.mjs [--list | --check | --run [--jobs n] [--only <key>]]
//   --list   each documented command, where it is, and how it is exercised;
//   --check  fails when a command has no way to be exercised (tests/doc-commands.test.ts runs this in npm test);
//   --run    runs the smoke form of each distinct command (CI), --jobs n at a time (default 2), or --only
//            those whose script path contains <key>: the documented command with the small-run
//            flags of .ci/doc-commands.json appended (a later flag wins), so it takes the same code path on tiny
//            data in seconds. A command CI already runs as it is (npm test, npm run build, …) is not run again.
//
// A command is code in a fenced block of shell (lines joined at a trailing backslash, comments dropped) or an
// inline code span, that starts with `npm run`, `npm test`, `npx tsx`, `npx vitest`, `node --import tsx`,
// `node .ci/` or `bash .ci/`. `a && b` counts as two commands. Placeholders (`<dir>`, `V`) mark a template: it is exercised
// through its script's smoke form.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const DOCS = ['README.md', 'docs/guide.md', 'docs/benchmarks.md'];
const PLAN = JSON.parse(readFileSync(new URL('./doc-commands.json', import.meta.url), 'utf8'));
const SCRIPTS = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
const STARTS = /^(npm run |npm test\b|npm ci\b|npx tsx |npx vitest |node --import tsx |node \.ci\/|bash \.ci\/)/;

/** The commands of one markdown file: { doc, line, command }. */
export function commandsOf(doc) {
  const lines = readFileSync(doc, 'utf8').split('\n');
  const found = [];
  let fenced = false;
  let pending = null;
  const take = (text, line) => {
    for (const part of text.split('&&').map((p) => p.trim())) if (STARTS.test(part)) found.push({ doc, line, command: part });
  };
  lines.forEach((raw, k) => {
    if (/^\s*```/.test(raw)) {
      fenced = !fenced;
      return;
    }
    if (fenced) {
      const text = raw.replace(/^\s*\$ /, '').replace(/\s+#\s.*$/, '').trim();
      if (pending !== null) {
        pending.text += ' ' + text.replace(/\\$/, '').trim();
        if (!text.endsWith('\\')) (take(pending.text, pending.line), (pending = null));
      } else if (STARTS.test(text)) {
        if (text.endsWith('\\')) pending = { text: text.replace(/\\$/, '').trim(), line: k + 1 };
        else take(text, k + 1);
      }
      return;
    }
    for (const m of raw.matchAll(/`([^`]+)`/g)) take(m[1], k + 1);
  });
  return found;
}

/** Splits a command into words (double-quoted words kept whole). */
const words = (command) => [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);

/** The script a command runs ('npm:<name>', a file path, or a CI-run command), and its arguments. */
export function parse(command) {
  const w = words(command);
  if (w[0] === 'bash' || (w[0] === 'node' && w[1].startsWith('.ci/'))) return { key: w[1], args: w.slice(2) };
  if (w[0] === 'npm' && (w[1] === 'test' || w[1] === 'ci')) return { key: `npm:${w[1]}`, args: [] };
  if (w[0] === 'npm') {
    const sep = w.indexOf('--');
    return { key: `npm:${w[2]}`, args: sep < 0 ? w.slice(3) : w.slice(sep + 1) };
  }
  if (w[0] === 'npx' && w[1] === 'vitest') return { key: 'npx:vitest', args: w.slice(2) };
  const file = w.find((x) => x.endsWith('.ts'));
  return { key: file, args: w.slice(w.indexOf(file) + 1) };
}

/** The file (and fixed arguments) an npm script runs with tsx, or the file itself. */
function scriptOf(key) {
  if (!key.startsWith('npm:')) return { file: key, fixed: [] };
  const m = /tsx (\S+\.ts)(.*)$/.exec(SCRIPTS[key.slice(4)] ?? '');
  return m === null ? { file: undefined, fixed: [] } : { file: m[1], fixed: words(m[2]) };
}

// `<dir>`-style placeholders are paths, filled in with temporary ones; `--flag V` (a capital letter) is a value
// the reader chooses: such a template is exercised through its script's own smoke form.
const PATH_PLACEHOLDER = /<[^>]+>/g;
const VALUE_PLACEHOLDER = /--\w[\w-]* [A-Z]\b/;

/** A path placeholder becomes a folder in the smoke run's temporary folder (its working directory). */
const fillPath = (arg, k) => arg.replace(PATH_PLACEHOLDER, `placeholder-${k}`);

/** How a command is exercised: { how: 'ci' | 'smoke' | 'template' | 'missing', argv?, prepare?, requires? }. */
export function planOf(command) {
  const { key, args } = parse(command);
  if (PLAN.ci[key] !== undefined) return { key, how: 'ci', why: PLAN.ci[key] };
  const { file, fixed } = scriptOf(key);
  const smoke = PLAN.smoke[key] ?? (file === undefined ? undefined : PLAN.smoke[file]);
  if (smoke === undefined) return { key, file, how: 'missing' };
  // A script whose arguments are positional (a checkout, a step count) cannot take small-run flags after them.
  if (VALUE_PLACEHOLDER.test(command) || smoke.positional === true) return { key, file, how: 'template' };
  const rule = (smoke.when ?? []).find((w) => command.includes(w.match));
  return {
    key,
    file,
    how: 'smoke',
    // A script named bare (in prose) runs as its template does: some take a required flag.
    argv: [file, ...fixed, ...(args.length === 0 ? smoke.template ?? [] : args.map(fillPath)), ...smoke.args, ...(rule?.args ?? [])],
    prepare: rule?.prepare ?? [],
    requires: smoke.requires,
  };
}

export function documented() {
  return DOCS.flatMap(commandsOf).map((c) => ({ ...c, plan: planOf(c.command) }));
}

/** The distinct smoke runs: a documented command's, or a template's script's bare one. Numbers do not count. */
function smokeRuns(all, only) {
  const runs = new Map();
  // A number (but a thread count), a checkpoint folder or an output path does not change the code path, unless a later command (a
  // plot, a summary) reads that output.
  const read = new Set(all.flatMap((c) => (c.plan.argv ?? []).filter((a, k, argv) => argv[k - 1] !== '--out').flatMap((a) => a.split(','))));
  const plain = (a, k, argv) => (/^-?[\d.e]+$/.test(a) && argv[k - 1] !== '--workers') || argv[k - 1] === '--checkpoint' || (argv[k - 1] === '--out' && !read.has(`${a}.json`));
  const shape = (argv) => argv.map((a, k) => (plain(a, k, argv) ? '#' : a)).join(' ');
  for (const c of all) {
    if (c.plan.how !== 'smoke' || (only !== null && !c.plan.file.includes(only))) continue;
    if (!runs.has(shape(c.plan.argv))) runs.set(shape(c.plan.argv), c);
  }
  for (const c of all) {
    if (c.plan.how !== 'template' || (only !== null && !c.plan.file.includes(only))) continue;
    if ([...runs.values()].some((r) => r.plan.file === c.plan.file)) continue;
    const smoke = PLAN.smoke[c.plan.key] ?? PLAN.smoke[c.plan.file];
    runs.set(c.plan.file, { ...c, plan: { ...c.plan, how: 'smoke', argv: [c.plan.file, ...scriptOf(c.plan.key).fixed, ...(smoke.template ?? []), ...smoke.args], prepare: [] } });
  }
  return [...runs.values()];
}

function missingRequirement(requires) {
  if (requires === undefined) return null;
  if (requires === 'chromium') return existsSync(process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium') ? null : 'Chromium';
  return existsSync(requires) ? null : requires;
}

/**
 * Runs one smoke command in `dir`, so that the out/ and .cache/ of the documented command land in the temporary
 * folder (out/ is shared by every run, so a plot or a summary finds what an earlier command wrote; .cache/ is the
 * run's own). The script is given by its path in the repo.
 */
function runOne(argv, dir) {
  const [file, ...rest] = argv;
  const args = rest.map((a) => a.replaceAll('$REPO', process.cwd()));
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, resolve(file), ...args], { cwd: dir, env: { ...process.env, RSO_SMOKE: '1' } });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => child.kill(), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ ok: code === 0, seconds: (Date.now() - t0) / 1000, line: argv.join(' '), log });
    });
  });
}

/** Runs a smoke entry (its prepare commands, then itself) in its own folder; returns whether it passed. */
async function runEntry(c, out, k) {
  const missing = missingRequirement(c.plan.requires);
  if (missing !== null) {
    console.log(`skip          ${c.plan.argv.join(' ')}   (${c.doc}:${c.line}): needs ${missing}`);
    return true;
  }
  const dir = join(out, `run-${k}`);
  mkdirSync(join(dir, '.cache'), { recursive: true });
  // Worker threads resolve tsx from the working directory.
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(out, 'out'), join(dir, 'out'));
  const steps = [];
  for (const argv of [...c.plan.prepare, c.plan.argv]) {
    const r = await runOne(argv, dir);
    steps.push(r);
    if (!r.ok) break;
  }
  const bad = steps.find((r) => !r.ok);
  const seconds = steps.reduce((t, r) => t + r.seconds, 0).toFixed(1);
  if (bad === undefined) console.log(`ok   ${seconds.padStart(6)} s  ${steps.at(-1).line}   (${c.doc}:${c.line})`);
  else console.log(`FAIL ${seconds.padStart(6)} s  ${bad.line}   (${c.doc}:${c.line})\n${bad.log.split('\n').slice(-25).join('\n')}`);
  return bad === undefined;
}

/** Runs entries `jobs` at a time; returns how many failed. */
async function runPool(entries, out, jobs, offset) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < entries.length) {
      const k = next++;
      if (!(await runEntry(entries[k], out, offset + k))) failed++;
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return failed;
}

/**
 * Runs the smoke forms `jobs` at a time (one a core), then the commands that read others' outputs (`after` in
 * .ci/doc-commands.json: plots). Returns how many failed.
 */
async function runSmokes(all, only, jobs) {
  const out = mkdtempSync(join(tmpdir(), 'doc-commands-'));
  mkdirSync(join(out, 'out'));
  const runs = smokeRuns(all, only);
  const isAfter = (c) => (PLAN.smoke[c.plan.key] ?? PLAN.smoke[c.plan.file])?.after === true;
  const t0 = Date.now();
  let failed = 0;
  try {
    failed += await runPool(runs.filter((c) => !isAfter(c)), out, jobs, 0);
    failed += await runPool(runs.filter(isAfter), out, jobs, runs.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.log(`${runs.length - failed} of ${runs.length} smoke runs passed or were skipped for a missing requirement, ${jobs} at a time, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return failed;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv[2] ?? '--list';
  const all = documented();
  if (mode === '--list') for (const c of all) console.log(`${c.doc}:${c.line}\t${c.plan.how}\t${c.command}`);
  const missing = all.filter((c) => c.plan.how === 'missing');
  for (const c of missing) console.error(`${c.doc}:${c.line}: no way to exercise \`${c.command}\`: add its script (${c.plan.file ?? c.plan.key}) to .ci/doc-commands.json`);
  const counts = {};
  for (const c of all) counts[c.plan.how] = (counts[c.plan.how] ?? 0) + 1;
  console.log(`${all.length} documented commands: ${Object.entries(counts).map(([how, n]) => `${n} ${how}`).join(', ')}`);
  if (missing.length > 0) process.exit(1);
  if (mode === '--run') {
    const flag = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : null);
    if ((await runSmokes(all, flag('--only'), Number(flag('--jobs') ?? 2))) > 0) process.exit(1);
  }
}
