// The built-in default model, /health, and SIGTERM draining in-flight streams before exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postStream, readSse } from './lib/server.mjs';

test('with no --model the built-in random model is served and says so', async () => {
  const server = await startServer({ model: null });
  try {
    assert.match(server.log, /RANDOM/);
    assert.match(server.log, /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    const models = JSON.parse((await server.get('/v1/models')).text);
    assert.equal(models.data[0].id, 'fathom-tiny-random-deepseek-v3');
    const r = await server.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 4 });
    assert.equal(r.status, 200, r.text);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('SIGTERM drains an in-flight stream, then the server exits 0', async () => {
  const server = await startServer({ model: 'deepseek_v3' });
  const res = await postStream(server, '/v1/completions',
    { prompt: 'drain me', max_tokens: 200, ignore_eos: true, temperature: 0, stream_options: { include_usage: true } });
  assert.equal(res.status, 200);
  let signalled = false;
  let exit;
  const reading = readSse(res, (ev) => {
    if (!signalled && ev !== '[DONE]' && ev.choices?.[0]?.text) {
      signalled = true;
      exit = server.stop('SIGTERM');
    }
  });
  // While the stream drains, /health turns 503 and new work is refused with 503 (bounded poll:
  // the signal reaches the server asynchronously).
  let health = 200;
  for (let i = 0; i < 5000 && health === 200; ++i) {
    if (!signalled) { await new Promise((r) => setImmediate(r)); continue; }
    health = (await server.get('/health')).status;
  }
  assert.equal(health, 503);
  const refused = await server.post('/v1/completions', { prompt: 'late', max_tokens: 2 });
  assert.equal(refused.status, 503);
  assert.equal(refused.json.error.type, 'server_error');
  const events = await reading;
  assert.ok(signalled);
  assert.equal(events.at(-1), '[DONE]');
  const usage = events.at(-2).usage;
  assert.equal(usage.completion_tokens, 200);
  const finish = events.filter((e) => e !== '[DONE]' && e.choices.length).at(-1).choices[0].finish_reason;
  assert.equal(finish, 'length');
  assert.equal(await exit, 0);
});
