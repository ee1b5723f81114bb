#!/usr/bin/env node
// After `fathom plan calibrate`, does the plan predict what `fathom bench` measures? Writes two
// random-weight Llama-shaped models of different shapes, calibrates on the first, predicts the
// batch-1 decode tokens/s of the second with `fathom plan --device this-machine`, measures it
// with `fathom bench model`, and prints both (target: within 25 %).
//
//   node bench/plan/predict_vs_measure.mjs [--fathom build/release/bin/fathom] [-t THREADS]
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
const target = writeRandomLlama({ hidden: 2048, layers: 10, intermediate: 5632, heads: 16, kvHeads: 4 });
try {
  const cal = path.join(work, 'cal.json');
  process.stdout.write(run('plan', 'calibrate', '--model', calib, '--calibration', cal, ...tArgs));
  const report = JSON.parse(run('plan', '--model', target, '--device', 'this-machine', '--calibration', cal, '--prompt-tokens', '512',
    '--output-tokens', '128', '--ttft-ms', '3600000', '--tpot-ms', '60000', '--rps', '0.01', '--format', 'json'));
  const chosen = report.candidates.find((c) => c.chosen);
  if (!chosen) throw new Error('the plan found no fit on this machine');
  const predicted = chosen.sizing.decode_tokens_per_s_batch1;
  const bench = JSON.parse(run('bench', 'model', '--model', target, '-p', '512', '-n', '128', '-b', '1', '--json', ...tArgs));
  const measured = bench.results.find((r) => r.test.startsWith('tg') && r.batch === 1).tokens_per_s;
  const err = (predicted - measured) / measured;
  console.log(`model: ${report.model.total_params} params, ${report.model.weights_bytes} bytes of ${report.model.weight_format} weights`);
  console.log(`predicted batch-1 decode: ${predicted.toFixed(2)} tokens/s (efficiency ${chosen.sizing.efficiency.bandwidth.toFixed(3)})`);
  console.log(`measured  batch-1 decode: ${measured.toFixed(2)} tokens/s (fathom bench model, ${bench.threads} threads, ${bench.isa})`);
  console.log(`error: ${(err * 100).toFixed(1)} % ${Math.abs(err) <= 0.25 ? '(within 25 %)' : '(OUTSIDE 25 %)'}`);
} finally {
  for (const d of [work, calib, target]) rmSync(d, { recursive: true, force: true });
}
