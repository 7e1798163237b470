// A young generation given to the main isolate at start (`node --max-semi-space-size=N`) stays the
// main thread's: src/util/young-generation.ts sets the process-wide flag back before the input
// workers start (src/parallel/pool.ts), so that they keep V8's default size.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeOptionsWords, startSemiSpaceSize, startYoungGenerationFlags } from '../src/util/young-generation.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Fills the isolate's young generation until it has grown to its largest, then gives its size in
// MB (both semi-spaces). V8 grows it only after scavenges in which much survived, so under load it
// was once caught part-way (112 of 128 MB after 3,000,000 objects): the largest size seen while
// keeping up to 9,000,000 objects is taken.
const FILL = `const v8 = require('node:v8'); globalThis.kept = []; let size = 0;
for (let i = 0; i < 9e6; i++) {
  kept.push({ i });
  if (i % 500000 === 0) size = Math.max(size, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);
}
size = Math.max(size, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);`;

/** Young-generation sizes (MB) of the main isolate, a worker started before the reset and one started after it. */
function sizes(flags: string[]): { main: number; before: number; after: number } {
  const script = `
import { Worker } from 'node:worker_threads';
import { workersTakeDefaultYoungGeneration } from ${JSON.stringify(path.join(root, 'src/util/young-generation.ts'))};
const worker = () => new Promise((resolve, reject) => {
  const w = new Worker(${JSON.stringify(`${FILL} require('node:worker_threads').parentPort.postMessage(size);`)}, { eval: true, execArgv: [] });
  w.once('message', (m) => { resolve(m); void w.terminate(); });
  w.once('error', reject);
});
const before = await worker();
workersTakeDefaultYoungGeneration();
workersTakeDefaultYoungGeneration();
const after = await worker();
const require = (await import('node:module')).createRequire(import.meta.url);
${FILL}
console.log(JSON.stringify({ main: size, before, after }));`;
  const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim()) as { main: number; before: number; after: number };
}

describe('the young generation of the main isolate', () => {
  it('is given at start to the main isolate only: workers started after the reset take the default', () => {
    const plain = sizes([]);
    // Without the flag every isolate has V8's default, which the reset leaves as it is.
    expect(plain.before).toBe(plain.main);
    expect(plain.after).toBe(plain.main);
    const given = sizes(['--max-semi-space-size=64']);
    // Two semi-spaces of 64 MB; the flag is the process's, so a worker started before the reset takes it too.
    expect(given.main).toBe(128);
    expect(given.before).toBe(128);
    expect(given.after).toBe(plain.main);
    expect(plain.main).toBeLessThan(128);
  }, 60_000);
});

describe('startYoungGenerationFlags', () => {
  it('lists the young-generation flags of NODE_OPTIONS, then of the command line, with their values', () => {
    expect(startYoungGenerationFlags([], '')).toEqual([]);
    expect(startYoungGenerationFlags(['--enable-source-maps', '--max-old-space-size=4096'], '--trace-gc --no-young-generation-large-objects')).toEqual([]);
    expect(
      startYoungGenerationFlags(['--max_semi_space_size=64', '--semi-space-growth-factor=4'], '--trace-gc --min-semi-space-size=2 "--max-semi-space-size=16"'),
    ).toEqual([
      { name: 'min-semi-space-size', value: '2' },
      { name: 'max-semi-space-size', value: '16' },
      { name: 'max-semi-space-size', value: '64' },
      { name: 'semi-space-growth-factor', value: '4' },
    ]);
    // Node takes no value from the next word (it refuses to start with `--max-semi-space-size 32`).
    expect(startYoungGenerationFlags(['--max_semi_space_size', '8'], '')).toEqual([{ name: 'max-semi-space-size', value: undefined }]);
    expect(startYoungGenerationFlags(['--max-young-generation-size=48', '--young_generation_large_objects'], '')).toEqual([
      { name: 'max-young-generation-size', value: '48' },
      { name: 'young-generation-large-objects', value: undefined },
    ]);
    // A word that only contains a flag is not one.
    expect(startYoungGenerationFlags(['--title=--max-semi-space-size=8', '-max-semi-space-size=8'], 'x--semi-space-growth-factor=2')).toEqual([]);
  });
});

describe('nodeOptionsWords', () => {
  it('splits as Node does: at spaces outside double quotes, backslash escapes inside them, tabs kept', () => {
    expect(nodeOptionsWords('')).toEqual([]);
    expect(nodeOptionsWords('  --a   --b=1 ')).toEqual(['--a', '--b=1']);
    expect(nodeOptionsWords('--require "./my dir/x.js" --c')).toEqual(['--require', './my dir/x.js', '--c']);
    expect(nodeOptionsWords('"--max-semi-space-size=\\8" x\\y')).toEqual(['--max-semi-space-size=8', 'x\\y']);
    expect(nodeOptionsWords('--t="a \\"b\\" c" "" --d')).toEqual(['--t=a "b" c', '--d']);
    expect(nodeOptionsWords('--a\t--b')).toEqual(['--a\t--b']);
  });
});

describe('startSemiSpaceSize', () => {
  it('is the last --max-semi-space-size, NODE_OPTIONS read before the command line', () => {
    expect(startSemiSpaceSize([], '')).toBeUndefined();
    expect(startSemiSpaceSize(['--max-semi-space-size=32'], '')).toBe('32');
    expect(startSemiSpaceSize([], '--trace-gc --max-semi-space-size=16')).toBe('16');
    expect(startSemiSpaceSize(['--max_semi_space_size=64'], '--max-semi-space-size=16')).toBe('64');
    expect(startSemiSpaceSize(['--min-semi-space-size=64'], '--max-semi-space-size=16 --max-semi-space-size=2')).toBe('2');
  });

  it('agrees with the semi-space size V8 gives the main isolate', () => {
    const measured = (execArgv: string[], nodeOptions: string) => {
      const r = spawnSync(process.execPath, [...execArgv, '-e', `${FILL} console.log(size / 2);`], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
      });
      if (r.status !== 0) throw new Error(r.stderr);
      return { v8: Number(r.stdout.trim()), read: startSemiSpaceSize(execArgv, nodeOptions) };
    };
    expect(measured([], '--max-semi-space-size=2 "--max_semi_space_size=\\8"')).toEqual({ v8: 8, read: '8' });
    expect(measured(['--max-semi-space-size=4'], '--max-semi-space-size=8')).toEqual({ v8: 4, read: '4' });
  }, 60_000);
});
