// `fathom plan` against the real binaries: the weight and KV memory it predicts are what
// `fathom serve` then allocates (its own log, its mappings and its RSS), within 10 %; the
// gateway.yaml it writes passes `fathom gateway --check-config` and serves a request through a
// real gateway to a real `fathom serve` started with the plan's own flags.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';
import { Gateway, fathom } from './lib/gateway.mjs';
import { writeRandomLlama } from './lib/random_model.mjs';

const work = mkdtempSync(path.join(os.tmpdir(), 'fathom-plan-e2e-'));
const catalogue = path.join(repoRoot, 'tests/data/plan/e2e_catalogue.yaml');
const cleanup = [work];
after(() => { for (const d of cleanup) rmSync(d, { recursive: true, force: true }); });

// `fathom plan --format json` for `model` on the small e2e machine, writing deployment files to
// a fresh folder; the parsed report, the folder, and the serve flags it wrote.
function plan(model, extra = []) {
  const out = mkdtempSync(path.join(work, 'plan-'));
  const json = execFileSync(fathomBin, ['plan', '--model', model, '--catalogue', catalogue, '--device', 'small-cpu',
    '--prompt-tokens', '256:1024', '--output-tokens', '64:256', '--rps', '0.5',
    '--format', 'json', '--out-dir', out, '--model-dir', model, ...extra],
  { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CONFIG_HOME: work } });
  const report = JSON.parse(json);
  const flags = readFileSync(path.join(out, 'serve-flags.txt'), 'utf8').replace(/\\\n/g, ' ').trim().split(/\s+/).slice(2);
  const chosen = report.candidates.find((c) => c.chosen);
  assert.ok(chosen, `no device chosen: ${json}`);
  return { report, chosen, out, flags };
}

// Bytes the serve process maps from `file` (the zero-copy float weights) per /proc/PID/smaps.
function mappedBytes(pid, file) {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  let total = 0;
  for (let i = 0; i < smaps.length; i++) {
    const m = smaps[i].match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s+(.*)$/);
    if (m && m[3] === file) total += parseInt(m[2], 16) - parseInt(m[1], 16);
  }
  return total;
}

function rssBytes(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]) * 1024;
}

function kvLogBytes(log) {
  const m = log.match(/KV cache: (\d+) blocks x (\d+) tokens \(\d+ MiB, (\d+) bytes\)/);
  assert.ok(m, `no KV cache line in:\n${log}`);
  return Number(m[3]);
}

function within(actual, predicted, what) {
  const msg = `${what}: fathom serve has ${actual}, plan predicted ${predicted} (${((actual / predicted - 1) * 100).toFixed(2)} %)`;
  console.log(msg);
  assert.ok(Math.abs(actual - predicted) <= 0.1 * predicted, msg);
}

async function complete(server) {
  const r = await server.post('/v1/completions', { prompt: 'hello there', max_tokens: 2, temperature: 0 });
  assert.equal(r.status, 200, r.text);
}

for (const fixture of ['deepseek_v3', 'deepseek_v2', 'llama', 'qwen2']) {
  test(`${fixture}: predicted weights and KV cache are what fathom serve allocates`, async () => {
    const dir = path.join(modelsDir, fixture);
    const { chosen, flags } = plan(dir);
    const mem = chosen.sizing.memory;
    // The weights stay in their file mapping, which is what mappedBytes reads (by default serve
    // moves them into anonymous huge pages after the load: the same bytes, no longer mapped).
    // --no-bf16-pack: the decode copy of bf16 weights is not part of the prediction (as above).
    const server = await startServer({ model: null, args: [...flags, '--no-huge-pages', '--no-bf16-pack'] });
    try {
      await complete(server);
      const predictedKv = mem.kv_bytes_per_token * chosen.sizing.context_tokens * chosen.sizing.max_sequences;
      within(kvLogBytes(server.log), predictedKv, 'KV cache bytes');
      within(mappedBytes(server.proc.pid, realpathSync(path.join(dir, 'model.safetensors'))), mem.weights_bytes, 'mapped weight bytes');
      within(statSync(path.join(dir, 'model.safetensors')).size, mem.weights_bytes, 'checkpoint bytes');
    } finally {
      await server.stop();
    }
  });
}

// The KV cache is allocated whole (its size is checked against serve's log) but comes from
// calloc, so only the blocks requests have written are resident: RSS grows by the weights.
test('a benchmark-shaped model: RSS grows by the predicted weights, the log has the predicted KV cache', async () => {
  const big = writeRandomLlama();
  cleanup.push(big);
  const small = path.join(modelsDir, 'llama');  // same tokenizer and architecture, ~0.3 MB of weights
  const rss = {};
  const predicted = {};
  for (const [name, model] of [['big', big], ['small', small]]) {
    const { chosen, flags } = plan(model);
    // --no-huge-pages: RSS read while serve's background copy into huge pages runs would count
    // both the file's pages and the copy (mapped-file-test and weight_cache_test cover the copy).
    // --no-bf16-pack: likewise the 12-bit decode copy of bf16 weights (weight_copies_test covers it),
    // which serve makes only where the CPU has AVX-512 BF16 and memory allows, and
    // --no-int4-panel the interleaved copy of int4 weights (AVX-512 VNNI, --activations reduced).
    const server = await startServer({ model: null, args: [...flags, '--no-huge-pages', '--no-bf16-pack', '--no-int4-panel'], timeoutMs: 120000 });
    try {
      await complete(server);
      rss[name] = rssBytes(server.proc.pid);
      const kv = kvLogBytes(server.log);
      within(kv, chosen.sizing.memory.kv_bytes_per_token * chosen.sizing.context_tokens * chosen.sizing.max_sequences, `${name} KV bytes`);
      predicted[name] = chosen.sizing.memory.weights_bytes;
    } finally {
      await server.stop();
    }
  }
  assert.ok(predicted.big > 150e6, `the benchmark model should be large, plan says ${predicted.big}`);
  within(rss.big - rss.small, predicted.big - predicted.small, 'RSS difference (weights)');
});

test('the generated gateway.yaml passes --check-config and serves a request', async () => {
  const dir = path.join(modelsDir, 'deepseek_v3');
  const first = plan(dir);
  const server = await startServer({ model: null, args: first.flags });
  let gateway = null;
  try {
    const chart = path.join(work, 'cost.svg');
    const { out, report } = plan(dir, ['--serve-url', server.url, '--gateway-data-dir', path.join(work, 'gw-data'), '--gateway-port', '0',
      '--sensitivity', 'high', '--chart', chart]);
    assert.match(readFileSync(chart, 'utf8'), /^<svg[^]*<polyline[^]*<\/svg>\n$/);
    assert.equal(report.decision.mode, 'private');
    assert.ok(report.decision.reasons.some((r) => r.includes('data sensitivity is high')));
    const config = path.join(out, 'gateway.yaml');
    execFileSync(fathomBin, ['gateway', '--check-config', '--config', config], { cwd: repoRoot, stdio: 'pipe' });
    const overlay = readFileSync(path.join(out, 'overlay', 'kustomization.yaml'), 'utf8');
    assert.match(overlay, /overlays\/private/);
    assert.match(overlay, new RegExp(`FATHOM_MAX_NUM_SEQS=${report.candidates.find((c) => c.chosen).sizing.max_sequences}`));
    const key = fathom('keys', 'create', '--config', config, '--tenant', 'default');
    gateway = await Gateway.start(config);
    const r = await gateway.post('/v1/chat/completions', { model: 'deepseek_v3', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }, key);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'chat.completion');
  } finally {
    if (gateway) await gateway.stop();
    await server.stop();
  }
});

test('bad input is a clear error naming the field', () => {
  const run = (...args) => {
    try {
      execFileSync(fathomBin, ['plan', ...args], { cwd: repoRoot, stdio: 'pipe' });
      return '';
    } catch (e) {
      return e.stderr.toString();
    }
  };
  assert.match(run('--model', 'deepseek-v3', '--rps', '-3'), /--rps: must be in/);
  assert.match(run('--model', 'no-such-model'), /model: 'no-such-model' is neither a built-in model/);
  assert.match(run('--model', 'deepseek-v3', '--weights', 'int3'), /unknown weight format 'int3'/);
  assert.match(run('--model', 'deepseek-v3', '--catalogue', catalogue, '--device', 'h100'), /devices: 'h100' is not in the catalogue/);
});

test('calibrate stores the efficiencies of a bench report and plan predicts with them', () => {
  const bench = path.join(work, 'bench.json');
  const cal = path.join(work, 'cal', 'plan-calibration.json');
  writeFileSync(bench, JSON.stringify({
    model: 'bench-llama', threads: 2, isa: 'avx2', weights_bytes: 200e6, machine: { read_gbps: 20.0, peak_gflops: 400.0 },
    results: [{ test: 'pp512', batch: 1, tokens_per_s: 500, gbps: 100, gflops: 200 }, { test: 'tg128', batch: 1, tokens_per_s: 60, gbps: 12, gflops: 24 }],
  }));
  const said = execFileSync(fathomBin, ['plan', 'calibrate', '--bench-json', bench, '--calibration', cal], { cwd: repoRoot, encoding: 'utf8' });
  assert.match(said, /decode bandwidth 0\.600, prefill compute 0\.500/);
  const stored = JSON.parse(readFileSync(cal, 'utf8'));
  assert.equal(stored.bandwidth_efficiency, 0.6);
  const dir = path.join(modelsDir, 'llama');
  const report = JSON.parse(execFileSync(fathomBin, ['plan', '--model', dir, '--device', 'this-machine', '--calibration', cal,
    '--prompt-tokens', '64', '--output-tokens', '16', '--format', 'json'], { cwd: repoRoot, encoding: 'utf8' }));
  const c = report.candidates[0];
  assert.equal(c.device, 'this-machine');
  assert.equal(c.sizing.efficiency.bandwidth, 0.6);
  // Batch 1 reads the weights but the embedding table, and the KV cache of the mean context
  // (64 + 16/2 tokens), at 20 GB/s x 0.6; compute (400 GFLOP/s x 0.5) is far from binding.
  const bytes = c.sizing.memory.weights_bytes - 512 * 64 * 2 + c.sizing.memory.kv_bytes_per_token * 72;
  const predicted = 20e9 * 0.6 / bytes;
  assert.ok(Math.abs(c.sizing.decode_tokens_per_s_batch1 - predicted) < 1e-6 * predicted, `${c.sizing.decode_tokens_per_s_batch1} vs ${predicted}`);
  const bad = path.join(work, 'bad-bench.json');
  writeFileSync(bad, '{"model": "m", "threads": 2}');
  assert.throws(() => execFileSync(fathomBin, ['plan', 'calibrate', '--bench-json', bad, '--calibration', cal], { cwd: repoRoot, stdio: 'pipe' }),
    (e) => /bench model output: isa: is required/.test(e.stderr.toString()));
});
