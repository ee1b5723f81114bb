// fathom serve --speculative ngram through the official openai client: greedy answers equal a
// server without speculation (chat, completions, streaming, a concurrent batch), drafts are
// counted on /metrics under fathom's and vLLM's names, and bad flags are named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const MODEL = 'qwen2';
let plain;
let spec;

before(async () => {
  plain = await startServer({ model: MODEL });
  spec = await startServer({
    model: MODEL,
    args: ['--speculative', 'ngram', '--num-speculative-tokens', '3', '--prompt-lookup-min', '1',
      '--metrics-names', 'vllm'],
  });
});
after(async () => {
  assert.equal(await plain.stop(), 0);
  assert.equal(await spec.stop(), 0);
});

const client = (server) => new OpenAI({ baseURL: server.url + '/v1', apiKey: 'none', maxRetries: 0 });
// Text that repeats itself, as an edit-this-document request does: prompt lookup finds drafts.
const PROMPT = 'Repeat this list: apples, pears, plums, apples, pears, plums, apples, pears, plums.';

test('the log names the drafter', () => {
  assert.match(spec.log, /speculative decoding: ngram, 3 draft tokens per step/);
});

test('greedy chat and completions equal the server without speculation', async () => {
  for (const max_tokens of [1, 7, 40]) {
    const chat = { model: MODEL, messages: [{ role: 'user', content: PROMPT }], temperature: 0, max_tokens };
    const [a, b] = await Promise.all([client(plain).chat.completions.create(chat), client(spec).chat.completions.create(chat)]);
    assert.equal(b.choices[0].message.content, a.choices[0].message.content);
    assert.equal(b.choices[0].finish_reason, a.choices[0].finish_reason);
    assert.deepEqual(b.usage, a.usage);
    const comp = { model: MODEL, prompt: PROMPT, temperature: 0, max_tokens, logprobs: 2 };
    const [c, d] = await Promise.all([client(plain).completions.create(comp), client(spec).completions.create(comp)]);
    assert.equal(d.choices[0].text, c.choices[0].text);
    assert.deepEqual(d.choices[0].logprobs.tokens, c.choices[0].logprobs.tokens);
  }
});

test('streaming, a stop string and a concurrent batch give the same text', async () => {
  const chat = { model: MODEL, messages: [{ role: 'user', content: PROMPT }], temperature: 0, max_tokens: 32 };
  const want = (await client(plain).chat.completions.create(chat)).choices[0].message.content;
  let streamed = '';
  for await (const chunk of await client(spec).chat.completions.create({ ...chat, stream: true }))
    streamed += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(streamed, want);

  if (want.length > 6) {
    const stop = want.slice(4, 6);
    const [a, b] = await Promise.all([plain, spec].map((s) => client(s).chat.completions.create({ ...chat, stop: [stop] })));
    assert.equal(b.choices[0].message.content, a.choices[0].message.content);
    assert.equal(b.choices[0].finish_reason, 'stop');
  }

  const prompts = Array.from({ length: 8 }, (_, i) => `${PROMPT} ${'x'.repeat(i)} and again: apples, pears`);
  const run = (s) => Promise.all(prompts.map((prompt) =>
    client(s).completions.create({ model: MODEL, prompt, temperature: 0, max_tokens: 24 })));
  const [a, b] = await Promise.all([run(plain), run(spec)]);
  assert.deepEqual(b.map((r) => r.choices[0].text), a.map((r) => r.choices[0].text));
});

test('/metrics counts drafts and accepted tokens under fathom and vLLM names', async () => {
  const m = await spec.metrics();
  const label = `{model_name="${MODEL}"}`;
  for (const prefix of ['fathom_', 'vllm:']) {
    const drafted = m[`${prefix}spec_decode_num_draft_tokens_total${label}`];
    const accepted = m[`${prefix}spec_decode_num_accepted_tokens_total${label}`];
    assert.ok(drafted > 0, JSON.stringify(m));
    assert.ok(accepted >= 0 && accepted <= drafted);
    assert.ok(m[`${prefix}spec_decode_num_drafts_total${label}`] > 0);
    const first = m[`${prefix}spec_decode_num_accepted_tokens_per_pos_total{model_name="${MODEL}",position="0"}`] ?? 0;
    assert.ok(first <= accepted);
  }
  const ratio = m[`fathom_spec_decode_acceptance_ratio${label}`];
  assert.ok(ratio >= 0 && ratio <= 1);
  // Rejected drafts give their cache blocks back: nothing is held once requests are done.
  assert.equal(m[`fathom_kv_cache_usage_ratio${label}`], 0);
});

test('bad speculative flags are named', () => {
  const run = (...args) => spawnSync(fathomBin, ['serve', '--port', '0', '--model', path.join(modelsDir, MODEL), ...args],
    { cwd: repoRoot, encoding: 'utf8', timeout: 60000 });
  const bad = run('--speculative', 'eagle');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--speculative 'eagle' is not one of off, ngram, mtp/);
  const k = run('--speculative', 'ngram', '--num-speculative-tokens', '0');
  assert.notEqual(k.status, 0);
  assert.match(k.stderr, /--num-speculative-tokens must be in \[1, 16\]/);
  const mtp = run('--speculative', 'mtp');
  assert.notEqual(mtp.status, 0);
  assert.match(mtp.stderr, /multi-token-prediction/);
});
