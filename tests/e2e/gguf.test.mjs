// GGUF on the real binaries: `fathom gguf-convert` writes a fixture model as one GGUF file, and
// `fathom serve --model FILE.gguf` serves it with the tokenizer and chat template inside it
// (no other file), answering the official openai client exactly as the folder it came from
// does (F32), and answering in a quantized type too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const run = (...args) => spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8', timeout: 120000 });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fathom-gguf-'));
const gguf = (type) => path.join(tmp, `deepseek_v3_${type}.gguf`);

before(() => {
  for (const type of ['F32', 'Q8_0']) {
    const r = run('gguf-convert', '--model', path.join(modelsDir, 'deepseek_v3'), '--out', gguf(type), '--type', type);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`wrote .*deepseek_v3_${type}\\.gguf`));
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const chat = async (model) => {
  const server = await startServer({ model, args: ['--served-model-name', 'm'] });
  try {
    const client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 12, temperature: 0,
    });
    return { r, log: server.log };
  } finally {
    assert.equal(await server.stop(), 0);
  }
};

test('serve --model FILE.gguf answers as the folder it was converted from (F32)', async () => {
  const fromGguf = await chat(gguf('F32'));
  const fromFolder = await chat(path.join(modelsDir, 'deepseek_v3'));
  assert.match(fromGguf.log, /loaded DeepseekV3ForCausalLM from .*deepseek_v3_F32\.gguf/);
  assert.equal(fromGguf.r.choices[0].message.content, fromFolder.r.choices[0].message.content);
  assert.deepEqual(fromGguf.r.usage, fromFolder.r.usage);
  assert.ok(fromGguf.r.usage.prompt_tokens > 5, JSON.stringify(fromGguf.r.usage));  // the chat template ran
});

test('a Q8_0 GGUF is smaller and answers', async () => {
  assert.ok(statSync(gguf('Q8_0')).size < statSync(gguf('F32')).size / 2);
  const { r } = await chat(gguf('Q8_0'));
  assert.equal(r.choices[0].finish_reason === 'length' || r.choices[0].finish_reason === 'stop', true);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12, JSON.stringify(r.usage));
});

test('gguf-convert names a bad type, and serve names a bad GGUF', () => {
  const bad = run('gguf-convert', '--model', path.join(modelsDir, 'qwen2'), '--out', path.join(tmp, 'x.gguf'), '--type', 'Q7_0');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--type 'Q7_0' is not one of F32, F16, Q4_0/);
  const quantized = run('gguf-convert', '--model', path.join(modelsDir, 'qwen2_gptq'), '--out', path.join(tmp, 'y.gguf'));
  assert.notEqual(quantized.status, 0);
  assert.match(quantized.stderr, /quantized checkpoints cannot be exported to GGUF/);
  const truncated = path.join(tmp, 'cut.gguf');
  const cut = spawnSync('sh', ['-c', `head -c 300 '${gguf('Q8_0')}' > '${truncated}'`]);
  assert.equal(cut.status, 0);
  const serve = run('serve', '--port', '0', '--model', truncated);
  assert.notEqual(serve.status, 0);
  assert.match(serve.stderr, /cut\.gguf: metadata count \d+ cannot fit in the file's 300 bytes \(truncated\?\)/);
});
