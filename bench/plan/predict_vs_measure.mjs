#!/usr/bin/env node
// After `fathom plan calibrate`, does the plan predict what `fathom bench` measures? Calibrates
// on a small random-weight Llama-shaped model before each target, and for each target (a random Llama of another
// shape, and with --shape a real architecture written by bench/random_model, e.g.
// bench/shapes/r1-distill-qwen-1.5b.json) predicts the batch-1 decode tokens/s with
// `fathom plan --device this-machine`, measures it with `fathom bench model`, and prints both
// (target: within 25 %).
//
//   node bench/plan/predict_vs_measure.mjs [--fathom build/release/bin/fathom] [-t THREADS]
//        [--shape bench/shapes/r1-distill-qwen-1.5b.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeRandomLlama } from '../../tests/e2e/lib/random_model.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const bin = path.resolve(arg('--fathom', process.env.FATHOM_BIN ?? 'build/release/bin/fathom'));
const threads = arg('-t', null);
const work = mkdtempSync(path.join(os.tmpdir(), 'fathom-plan-bench-'));
const env = { ...process.env, XDG_CONFIG_HOME: work };
const run = (...args) => execFileSync(bin, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
const tArgs = threads ? ['-t', threads] : [];

const calib = writeRandomLlama({ hidden: 1024, layers: 8, intermediate: 2816, heads: 8, kvHeads: 8 });
const targets = [writeRandomLlama({ hidden: 2048, layers: 10, intermediate: 5632, heads: 16, kvHeads: 4 })];
const shape = arg('--shape', null);
if (shape) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-shape-'));
  execFileSync(arg('--random-model', path.join(path.dirname(bin), '../bench/random_model')), ['--config', shape, '--out', dir], { stdio: 'inherit' });
  targets.push(dir);
}
try {
  const cal = path.join(work, 'cal.json');
  for (const target of targets) {
    // This host's bandwidth drifts (docs/benchmarks.md): calibrate right before each measurement.
    process.stdout.write(run('plan', 'calibrate', '--model', calib, '--calibration', cal, ...tArgs));
    const report = JSON.parse(run('plan', '--model', target, '--device', 'this-machine', '--calibration', cal, '--prompt-tokens', '512',
      '--output-tokens', '128', '--ttft-ms', '3600000', '--tpot-ms', '60000', '--rps', '0.01', '--format', 'json'));
    const chosen = report.candidates.find((c) => c.chosen);
    if (!chosen) throw new Error(`the plan found no fit on this machine for ${target}`);
    const predicted = chosen.sizing.decode_tokens_per_s_batch1;
    const bench = JSON.parse(run('bench', 'model', '--model', target, '-p', '512', '-n', '128', '-b', '1', '--json', ...tArgs));
    const measured = bench.results.find((r) => r.test.startsWith('tg') && r.batch === 1).tokens_per_s;
    const err = (predicted - measured) / measured;
    console.log(`model ${report.model.architecture}: ${report.model.total_params} params, ${report.model.weights_bytes} bytes of ${report.model.weight_format} weights`);
    console.log(`  predicted batch-1 decode: ${predicted.toFixed(2)} tokens/s (efficiency ${chosen.sizing.efficiency.bandwidth.toFixed(3)})`);
    console.log(`  measured  batch-1 decode: ${measured.toFixed(2)} tokens/s (fathom bench model, ${bench.threads} threads, ${bench.isa})`);
    console.log(`  error: ${(err * 100).toFixed(1)} % ${Math.abs(err) <= 0.25 ? '(within 25 %)' : '(OUTSIDE 25 %)'}`);
  }
} finally {
  for (const d of [work, calib, ...targets]) rmSync(d, { recursive: true, force: true });
}
