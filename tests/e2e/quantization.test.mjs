// --quantization on the real binaries: a float checkpoint served in int8 and int4 answers, a
// quantized checkpoint refuses another format with a clear message, and `fathom bench model`
// measures a model and reports it as JSON; `fathom bench serve` measures a running server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const run = (...args) => spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60000 });

for (const q of ['int8', 'int4']) {
  test(`a bf16 checkpoint served with --quantization ${q} answers`, async () => {
    const server = await startServer({ model: 'qwen2', args: ['--quantization', q, '--profile'] });
    try {
      assert.match(server.log, new RegExp(`quantized to ${q}`));
      const r = await server.post('/v1/chat/completions', {
        model: 'qwen2', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 6, temperature: 0,
      });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.usage.completion_tokens >= 1 && r.json.usage.completion_tokens <= 6, r.text);
      // The step profile: forward time by op, in /metrics.
      const m = await server.metrics();
      const op = (name) => m[`fathom_engine_op_seconds_total{model_name="qwen2",op="${name}"}`];
      assert.ok(op('linear') > 0 && op('attention') > 0 && op('lm_head') > 0, JSON.stringify(m));
      const sum = ['embed', 'norm', 'linear', 'rope', 'kv_write', 'attention', 'activation', 'moe_routing', 'lm_head', 'other']
        .reduce((s, name) => s + op(name), 0);
      const forward = m['fathom_engine_forward_seconds_total{model_name="qwen2"}'];
      assert.ok(Math.abs(sum - forward) <= 1e-6 * Math.max(1, forward) + 1e-9, `ops ${sum} vs forward ${forward}`);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
}

test('a quantized checkpoint refuses another format, and a bad value is named', () => {
  const gptq = run('serve', '--port', '0', '--model', path.join(modelsDir, 'qwen2_gptq'), '--quantization', 'int8');
  assert.notEqual(gptq.status, 0);
  assert.match(gptq.stderr, /--quantization int8 does not match the checkpoint.*gptq.*use --quantization auto or int4/);
  const bad = run('serve', '--port', '0', '--model', path.join(modelsDir, 'qwen2'), '--quantization', 'int3');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /quantization 'int3' is not one of auto, none, int8, int4, fp8/);
});

test('fathom bench model prints prefill and decode figures as JSON', () => {
  const r = run('bench', 'model', '--model', path.join(modelsDir, 'deepseek_v3'), '-p', '16', '-n', '4', '-b', '1,3',
    '-t', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.threads, 1);
  assert.ok(j.machine.read_gbps > 0 && j.machine.peak_gflops > 0);
  assert.ok(j.weights_bytes_per_token > 0 && j.weights_bytes_per_token < j.weights_bytes);  // MoE
  assert.deepEqual(j.results.map((x) => [x.test, x.batch]), [['pp16', 1], ['tg4', 1], ['tg4', 3]]);
  for (const x of j.results) {
    assert.ok(x.tokens_per_s > 0 && x.gflops > 0 && x.gbps > 0, JSON.stringify(x));
    const shares = Object.values(x.ops).reduce((s, o) => s + o.share, 0);
    assert.ok(Math.abs(shares - 1) < 1e-6, `op shares sum to ${shares}`);
  }
  const bad = run('bench', 'model', '--model', path.join(modelsDir, 'llama'), '-p', '100000');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /prompt length 100000 .* must be in \[1, the context of 256\]/);
});

test('fathom bench serve load-tests a running fathom serve', async () => {
  const server = await startServer({ model: 'deepseek_v3' });
  try {
    // Its prompts come from /tokenize, whose body carries vLLM's "prompt" and llama-server's
    // "content": fathom reads the first and must not mind the second.
    const r = run('bench', 'serve', '--url', server.url, '--concurrency', '2', '--requests', '4',
      '--prompt-tokens', '8', '--max-tokens', '16', '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.completed, 4, r.stdout);
    assert.equal(j.failed, 0, r.stdout);
    assert.equal(j.total_output_tokens, 64, r.stdout);
    assert.equal(j.total_prompt_tokens, 32, r.stdout);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
