// The official `openai` npm client drives chat (streaming and not), completions and models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, modelsDir } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
const ref = JSON.parse(readFileSync(path.join(modelsDir, MODEL, 'reference.json'), 'utf8'));
const API_KEY = 'sk-fathom-e2e-key';
let server;
let client;

before(async () => {
  server = await startServer({ model: MODEL, apiKey: API_KEY });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: API_KEY, maxRetries: 0 });
});
after(async () => { assert.equal(await server.stop(), 0); });

test('models.list names the served model', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [MODEL]);
});

test('models.retrieve returns the served model; another name is a 404', async () => {
  const m = await client.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
  assert.equal(m.object, 'model');
  assert.equal(typeof m.created, 'number');
  await assert.rejects(client.models.retrieve('gpt-9'), (e) => e.status === 404);
});

test('chat.completions.create returns the reference answer', async () => {
  const conv = ref.chat[1];
  const r = await client.chat.completions.create({ model: MODEL, messages: conv.messages, temperature: 0, max_tokens: 24 });
  assert.equal(r.choices[0].message.content, conv.completion_text);
  assert.equal(r.choices[0].message.refusal, null);  // required by the spec, null when not refused
  assert.equal(r.choices[0].finish_reason, conv.finish_reason);
  assert.equal(r.usage.prompt_tokens, conv.prompt_ids.length);
  assert.equal(r.usage.completion_tokens, conv.completion_ids.length);
});

test('chat.completions.create with stream: true streams the reference answer', async () => {
  const conv = ref.chat[2];
  const stream = await client.chat.completions.create({
    model: MODEL, messages: conv.messages, temperature: 0, max_completion_tokens: 24, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, conv.completion_text);
  assert.equal(finish, conv.finish_reason);
  assert.equal(usage.completion_tokens, conv.completion_ids.length);
});

test('completions.create with a token-id prompt and with a text prompt', async () => {
  const conv = ref.chat[0];
  const byIds = await client.completions.create({ model: MODEL, prompt: conv.prompt_ids, temperature: 0, max_tokens: 24 });
  assert.equal(byIds.choices[0].text, conv.completion_text);
  // The template's text encodes (with the model's BOS rule) to the same ids here.
  const byText = await client.completions.create({ model: MODEL, prompt: conv.prompt_text, temperature: 0, max_tokens: 24 });
  assert.equal(byText.usage.prompt_tokens, conv.prompt_ids.length);
  assert.equal(byText.choices[0].text, conv.completion_text);
});

test('completions.create streams, n=2 with a seed gives two choices', async () => {
  const stream = await client.completions.create({
    model: MODEL, prompt: 'Hello', max_tokens: 8, temperature: 0.8, seed: 7, n: 2, stream: true,
  });
  const texts = ['', ''];
  const finishes = [null, null];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finishes[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(finishes.map((f) => f !== null), [true, true]);
  // The same seeded request again gives the same two texts.
  const again = await client.completions.create({ model: MODEL, prompt: 'Hello', max_tokens: 8, temperature: 0.8, seed: 7, n: 2 });
  assert.deepEqual(again.choices.map((c) => c.text), texts);
});

test('a wrong API key is refused with the OpenAI error shape', async () => {
  const bad = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.error?.type ?? err.type, 'authentication_error');
    return true;
  });
});

test('an invalid parameter surfaces as BadRequestError naming the param', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], temperature: 5 }),
    (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.param, 'temperature');
      return true;
    });
});
