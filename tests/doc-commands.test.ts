// Every command the docs give is exercised: CI runs it as it is, or runs its smoke form (.ci/doc-commands.mjs
// --run). This test fails when a documented command has neither, so a new command cannot be documented alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { commandsOf, documented, planOf } from '../.ci/doc-commands.mjs';

interface Found {
  doc: string;
  line: number;
  command: string;
  plan: { how: string; argv?: string[] };
}

const dir = mkdtempSync(join(tmpdir(), 'doc-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('documented commands', () => {
  it('finds fenced commands (joined at a backslash, comments dropped), inline ones, and both sides of &&', () => {
    const md = join(dir, 'x.md');
    writeFileSync(
      md,
      [
        'Run `npm run demo -- --budget 60` first.',
        '```sh',
        'npm ci && npm test   # the suite',
        'npm run bench:mnist -- --cycles 1 \\',
        '  --workers 2',
        'echo not a command',
        '```',
      ].join('\n'),
    );
    expect((commandsOf(md) as Found[]).map((c) => [c.line, c.command])).toEqual([
      [1, 'npm run demo -- --budget 60'],
      [3, 'npm ci'],
      [3, 'npm test'],
      [4, 'npm run bench:mnist -- --cycles 1 --workers 2'],
    ]);
  });

  it('a smoke form is the documented command with the small-run flags after it (a later flag wins)', () => {
    const plan = planOf('npm run bench:mnist -- --cycles 3') as Found['plan'];
    expect(plan.how).toBe('smoke');
    expect(plan.argv!.slice(0, 5)).toEqual(['examples/benchmarks/rso-long-run.ts', '--dataset', 'mnist', '--cycles', '3']);
    expect(plan.argv!).toContain('--budget');
  });

  it('a command of a script with no smoke form is reported', () => {
    expect((planOf('npx tsx examples/no-such-script.ts --x 1') as Found['plan']).how).toBe('missing');
  });

  it('every command in README.md, docs/guide.md and docs/benchmarks.md runs in CI as it is or in a smoke form', () => {
    const all = documented() as Found[];
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((c) => c.plan.how === 'missing').map((c) => `${c.doc}:${c.line} ${c.command}`)).toEqual([]);
  });
});
