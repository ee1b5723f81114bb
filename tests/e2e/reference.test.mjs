// Every fixture model with chat references: at temperature 0 the server returns exactly each
// reference completion (text and finish_reason), streaming and not, with the right usage.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, modelsDir, postStream, readSse } from './lib/server.mjs';

const fixtures = readdirSync(modelsDir)
  .filter((name) => existsSync(path.join(modelsDir, name, 'reference.json')))
  .map((name) => ({ name, ref: JSON.parse(readFileSync(path.join(modelsDir, name, 'reference.json'), 'utf8')) }))
  .filter(({ ref }) => Array.isArray(ref.chat) && ref.chat.length > 0);

test('there are fixture models with chat references', () => {
  assert.ok(fixtures.length >= 3, `found ${fixtures.map((f) => f.name)}`);
});

for (const { name, ref } of fixtures) {
  describe(`model ${name}`, () => {
    let server;
    before(async () => { server = await startServer({ model: name }); });
    after(async () => { assert.equal(await server.stop(), 0, 'fathom serve exits 0 on SIGTERM'); });

    ref.chat.forEach((conv, k) => {
      // The engine counts the EOS it stopped on as a completion token (as vLLM and OpenAI do).
      const expectedCompletionTokens = conv.completion_ids.length + (conv.finish_reason === 'stop' ? 1 : 0);
      const request = { model: name, messages: conv.messages, temperature: 0, max_tokens: 24 };

      test(`chat ${k}: the prompt tokenizes to the reference ids`, async () => {
        const r = await server.post('/tokenize', { model: name, messages: conv.messages });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.tokens, conv.prompt_ids);
      });

      test(`chat ${k}: non-streaming answer equals the reference`, async () => {
        const r = await server.post('/v1/chat/completions', request);
        assert.equal(r.status, 200, r.text);
        const choice = r.json.choices[0];
        assert.equal(choice.message.role, 'assistant');
        assert.equal(choice.message.content, conv.completion_text);
        assert.equal(choice.finish_reason, conv.finish_reason);
        assert.deepEqual(r.json.usage.prompt_tokens, conv.prompt_ids.length);
        assert.deepEqual(r.json.usage.completion_tokens, expectedCompletionTokens);
        assert.deepEqual(r.json.usage.total_tokens, conv.prompt_ids.length + expectedCompletionTokens);
        assert.equal(r.json.object, 'chat.completion');
        assert.equal(r.json.model, name);
      });

      test(`chat ${k}: streamed pieces concatenate to the reference`, async () => {
        const res = await postStream(server, '/v1/chat/completions', { ...request, stream_options: { include_usage: true } });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /text\/event-stream/);
        const events = await readSse(res);
        assert.equal(events.at(-1), '[DONE]');
        const chunks = events.slice(0, -1);
        const usageChunk = chunks.at(-1);
        assert.deepEqual(usageChunk.choices, []);
        assert.equal(usageChunk.usage.prompt_tokens, conv.prompt_ids.length);
        assert.equal(usageChunk.usage.completion_tokens, expectedCompletionTokens);
        const text = chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join('');
        assert.equal(text, conv.completion_text);
        const finishes = chunks.slice(0, -1).map((c) => c.choices[0].finish_reason).filter((f) => f !== null);
        assert.deepEqual(finishes, [conv.finish_reason]);
        assert.equal(chunks[0].choices[0].delta.role, 'assistant');
        for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
      });

      test(`chat ${k}: /v1/completions on the reference prompt ids gives the same text`, async () => {
        const r = await server.post('/v1/completions', { model: name, prompt: conv.prompt_ids, temperature: 0, max_tokens: 24 });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.choices[0].text, conv.completion_text);
        assert.equal(r.json.choices[0].finish_reason, conv.finish_reason);
        assert.equal(r.json.usage.prompt_tokens, conv.prompt_ids.length);
        assert.equal(r.json.usage.completion_tokens, expectedCompletionTokens);
      });
    });
  });
}
