// LoRA adapters over one base model: a server with the base and three PEFT adapters answers
// each through the openai client in one concurrent batch, every greedy answer equal to the
// answer of a server running that adapter's merged checkpoint (W + scale * B A, built by the
// lora_fixture tool); adapters load and unload at run time under load; the adapter cache
// evicts by LRU; bad adapters and bad request fields get clear errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, modelsDir, fathomBin, repoRoot, readSse, postStream } from './lib/server.mjs';

const BASE = 'deepseek_v2';
const baseDir = path.join(modelsDir, BASE);
const fixtureBin = path.join(path.dirname(fathomBin), '../tests/model/lora_fixture');  // built with the tests
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fathom-lora-e2e-'));
// Targets cover MLA projections, the dense MLP, shared experts and routed experts.
const SPECS = {
  finance: { seed: 11, rank: 4, targets: 'q_proj,o_proj' },
  legal: { seed: 12, rank: 8, targets: 'kv_a_proj_with_mqa,gate_proj,up_proj,down_proj' },
  health: { seed: 13, rank: 2, targets: 'q_proj,kv_a_proj_with_mqa,o_proj,gate_proj,up_proj,down_proj' },
};
const adapterDir = (name) => path.join(tmp, name);
const mergedDir = (name) => path.join(tmp, `${name}-merged`);
const PROMPT = 'The quick brown fox jumps over the lazy dog and keeps running through the forest';

function fixture(...args) {
  const r = spawnSync(fixtureBin, args, { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, `lora_fixture ${args.join(' ')}: ${r.stderr}`);
}

let server;
let client;
const oracle = {};  // adapter name (or 'base') -> greedy answer of its merged checkpoint

async function greedy(c, model, prompt = PROMPT, maxTokens = 12) {
  const r = await c.completions.create({ model, prompt, max_tokens: maxTokens, temperature: 0 });
  return r.choices[0].text;
}

before(async () => {
  for (const [name, s] of Object.entries(SPECS)) {
    fixture('adapter', baseDir, adapterDir(name), String(s.seed), String(s.rank), s.targets);
    fixture('merge', baseDir, adapterDir(name), mergedDir(name));
  }
  // The oracle: one plain server per merged checkpoint.
  for (const name of Object.keys(SPECS)) {
    const m = await startServer({ model: mergedDir(name), args: ['--served-model-name', name] });
    oracle[name] = await greedy(new OpenAI({ baseURL: m.url + '/v1', apiKey: 'x', maxRetries: 0 }), name);
    assert.equal(await m.stop(), 0);
  }
  const loras = Object.keys(SPECS).flatMap((n) => ['--lora', `${n}=${adapterDir(n)}`]);
  server = await startServer({ model: BASE, args: [...loras, '--max-loras', '4', '--allow-runtime-lora'] });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
  oracle.base = await greedy(client, BASE);
});
after(async () => {
  if (server) assert.equal(await server.stop(), 0);
  rmSync(tmp, { recursive: true, force: true });
});

test('base and three adapters in one concurrent batch each equal their merged checkpoint', async () => {
  const names = [BASE, ...Object.keys(SPECS)];
  // Twice: the second round finds the first round's prompt blocks in the prefix cache, which
  // must only ever be reused by the same adapter.
  for (let round = 0; round < 2; ++round) {
    const answers = await Promise.all(names.map((n) => greedy(client, n)));
    assert.equal(answers[0], oracle.base);
    for (let i = 1; i < names.length; ++i) assert.equal(answers[i], oracle[names[i]], `${names[i]} round ${round}`);
  }
  // The comparison can fail: the adapters change the answers.
  assert.ok(Object.keys(SPECS).filter((n) => oracle[n] !== oracle.base).length >= 2, JSON.stringify(oracle));
  const chat = await client.chat.completions.create({ model: 'legal', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 });
  assert.equal(chat.model, 'legal');
});

test('/v1/models lists the adapters with the base as parent', async () => {
  const page = await client.models.list();
  const byId = Object.fromEntries(page.data.map((m) => [m.id, m]));
  assert.equal(byId[BASE].parent, null);
  for (const n of Object.keys(SPECS)) {
    assert.equal(byId[n].parent, BASE);
    assert.equal(byId[n].root, adapterDir(n));
  }
  assert.equal((await client.models.retrieve('finance')).parent, BASE);
});

test('an unknown model is a 404 model_not_found', async () => {
  await assert.rejects(greedy(client, 'no-such-adapter'), (e) => e.status === 404 && e.code === 'model_not_found');
  const r = await server.post('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'model_not_found');
});

test('adapters load and unload at run time while requests stream', async () => {
  // Long streams on two adapters keep the engine busy through the loads and the unload.
  const streams = ['finance', 'legal'].map((model) =>
    postStream(server, '/v1/completions', { model, prompt: PROMPT, max_tokens: 48, temperature: 0, ignore_eos: true }).then(readSse));
  // "retail" is a copy of finance's folder: its answer must be finance's.
  cpSync(adapterDir('finance'), adapterDir('retail'), { recursive: true });
  const load = await server.post('/v1/load_lora_adapter', { lora_name: 'retail', lora_path: adapterDir('retail') });
  assert.equal(load.status, 200, load.text);
  assert.equal(load.text, "Success: LoRA adapter 'retail' added successfully.");
  assert.equal(await greedy(client, 'retail'), oracle.finance);
  const unload = await server.post('/v1/unload_lora_adapter', { lora_name: 'finance' });
  assert.equal(unload.status, 200, unload.text);
  assert.equal(unload.text, "Success: LoRA adapter 'finance' removed successfully.");
  // The stream running on finance finishes with its adapter; new requests cannot use it.
  for (const events of await Promise.all(streams)) {
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(events.at(-2).choices[0].finish_reason, 'length');
  }
  await assert.rejects(greedy(client, 'finance'), (e) => e.status === 404 && e.code === 'model_not_found');
  assert.equal((await server.post('/v1/load_lora_adapter', { lora_name: 'finance', lora_path: adapterDir('finance') })).status, 200);
  assert.equal(await greedy(client, 'finance'), oracle.finance);
  assert.equal((await server.post('/v1/unload_lora_adapter', { lora_name: 'retail' })).status, 200);
});

test('bad load and unload requests get clear errors', async () => {
  const expectError = async (route, body, status, param, text) => {
    const r = await server.post(route, body);
    assert.equal(r.status, status, r.text);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(r.json.error.param, param);
    assert.match(r.json.error.message, text);
  };
  const load = '/v1/load_lora_adapter';
  await expectError(load, { lora_path: adapterDir('legal') }, 400, 'lora_name', /lora_name: required/);
  await expectError(load, { lora_name: 7, lora_path: adapterDir('legal') }, 400, 'lora_name', /lora_name/);
  await expectError(load, { lora_name: 'x', lora_path: null }, 400, 'lora_path', /lora_path: required/);
  await expectError(load, { lora_name: 'legal', lora_path: adapterDir('legal') }, 400, 'lora_name', /already been loaded/);
  await expectError(load, { lora_name: BASE, lora_path: adapterDir('legal') }, 400, 'lora_name', /base model/);
  await expectError(load, { lora_name: 'gone', lora_path: path.join(tmp, 'missing') }, 404, null, /adapter_config.json: cannot open/);
  const bad = path.join(tmp, 'bad');
  cpSync(adapterDir('legal'), bad, { recursive: true });
  const cfg = JSON.parse(readFileSync(path.join(bad, 'adapter_config.json'), 'utf8'));
  writeFileSync(path.join(bad, 'adapter_config.json'), JSON.stringify({ ...cfg, bias: 'all', r: 3 }));
  await expectError(load, { lora_name: 'bad', lora_path: bad }, 400, null, /bias: 'all' is not supported/);
  await expectError('/v1/unload_lora_adapter', { lora_name: 'never' }, 404, null, /cannot be found/);
  await expectError('/v1/unload_lora_adapter', {}, 400, 'lora_name', /required/);
  const names = (await client.models.list()).data.map((m) => m.id);
  assert.ok(!names.includes('bad') && !names.includes('gone'));
});

test('/metrics has vllm:lora_requests_info', async () => {
  const { text } = await server.get('/metrics');
  const line = text.split('\n').find((l) => l.startsWith('vllm:lora_requests_info{'));
  assert.ok(line, text);
  assert.match(line, /max_lora="4",running_lora_adapters="",waiting_lora_adapters=""/);
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  assert.ok(Math.abs(value - Date.now() / 1000) < 60, line);  // a timestamp, as vLLM
});

test('the adapter cache evicts the least recently used adapter when full', async () => {
  const s = await startServer({
    model: BASE,
    args: ['--lora', `finance=${adapterDir('finance')}`, '--lora', `legal=${adapterDir('legal')}`, '--max-loras', '2', '--allow-runtime-lora'],
  });
  try {
    const c = new OpenAI({ baseURL: s.url + '/v1', apiKey: 'x', maxRetries: 0 });
    assert.equal(await greedy(c, 'finance'), oracle.finance);  // legal is now the LRU
    assert.equal((await s.post('/v1/load_lora_adapter', { lora_name: 'health', lora_path: adapterDir('health') })).status, 200);
    assert.match(s.log, /LoRA adapter 'legal' evicted \(least recently used; 2 slots\)/);
    assert.equal(await greedy(c, 'legal'), oracle.legal);  // read again; finance is evicted
    assert.match(s.log, /LoRA adapter 'legal' reloaded/);
    assert.match(s.log, /LoRA adapter 'finance' evicted/);
    assert.equal(await greedy(c, 'health'), oracle.health);
    assert.equal((await c.models.list()).data.length, 4);  // evicted adapters stay listed
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('a bad --lora stops the server with the reason', () => {
  for (const [arg, text] of [
    [`x=${path.join(tmp, 'missing')}`, /--lora x=.*adapter_config.json: cannot open/],
    ['noequals', /--lora: expected NAME=DIR/],
  ]) {
    const r = spawnSync(fathomBin, ['serve', '--port', '0', '--model', baseDir, '--lora', arg], { cwd: repoRoot, encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, text);
  }
  const r = spawnSync(fathomBin, ['serve', '--port', '0', '--model', baseDir, '--lora', 'a=/x', '--lora', 'b=/y', '--max-loras', '1'], { cwd: repoRoot, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--max-loras 1 is less than the 2 adapters/);
});

test('runtime updating is off without --allow-runtime-lora', async () => {
  const s = await startServer({ model: BASE, args: ['--lora', `legal=${adapterDir('legal')}`] });
  try {
    const r = await s.post('/v1/load_lora_adapter', { lora_name: 'a', lora_path: adapterDir('finance') });
    assert.equal(r.status, 404);
    assert.match(r.json.error.message, /--allow-runtime-lora/);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
