// The built-in default model, /health, and SIGTERM draining in-flight streams before exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, postStream, readSse, fathomCommand, repoRoot } from './lib/server.mjs';

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
  // The grace period keeps the port open (and answering 503) after the stream ends, so the
  // checks below cannot lose a race against the tiny model finishing its 200 tokens.
  const server = await startServer({ model: 'deepseek_v3', args: ['--drain-grace-s', '5'] });
  const res = await postStream(server, '/v1/completions',
    { prompt: 'drain me', max_tokens: 200, ignore_eos: true, temperature: 0, stream_options: { include_usage: true } });
  assert.equal(res.status, 200);
  let signalled = false;
  let exit;
  let onSignalled;
  const signalledP = new Promise((resolve) => { onSignalled = resolve; });
  const reading = readSse(res, (ev) => {
    if (!signalled && ev !== '[DONE]' && ev.choices?.[0]?.text) {
      signalled = true;
      exit = server.stop('SIGTERM');
      onSignalled();
    }
  });
  // While the stream drains, /health turns 503 and new work is refused with 503 (bounded poll:
  // the signal reaches the server asynchronously).
  await Promise.race([signalledP, reading]);
  assert.ok(signalled, 'the stream ended without a token');
  let health = 200;
  for (let i = 0; i < 5000 && health === 200; ++i) health = (await server.get('/health')).status;
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

test('--drain-grace-s holds the port after the last stream, and is checked', async () => {
  const server = await startServer({ model: 'deepseek_v3', args: ['--drain-grace-s', '1.5'] });
  const started = Date.now();
  const exit = server.stop('SIGTERM');
  let health = 200;
  for (let i = 0; i < 5000 && health === 200; ++i) health = (await server.get('/health')).status;
  assert.equal(health, 503);  // idle server: only the grace period keeps it listening
  assert.equal(await exit, 0);
  assert.ok(Date.now() - started >= 1500, `exited after ${Date.now() - started} ms`);
  for (const bad of ['-1', 'soon', '4000']) {
    const [cmd, argv] = fathomCommand(['serve', '--port', '0', '--drain-grace-s', bad]);
    const r = spawnSync(cmd, argv, { cwd: repoRoot, encoding: 'utf8', timeout: 20000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--drain-grace-s/);
  }
});
