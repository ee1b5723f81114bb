// Bad input gets the right status and OpenAI error JSON, and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
const KEY = 'sk-errors-test';
let server;

before(async () => {
  server = await startServer({ model: MODEL, apiKey: KEY, args: ['--max-body-mb', '1', '--max-num-seqs', '1', '--max-waiting', '1'] });
});
after(async () => { assert.equal(await server.stop(), 0); });

function assertOpenAiError(r, status, type, param = null) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.json && r.json.error, `error JSON expected, got ${r.text}`);
  assert.equal(r.json.error.type, type);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
  assert.equal(r.json.error.param, param);
  assert.ok('code' in r.json.error);
}

async function stillServes() {
  const r = await server.post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Hello!' }], temperature: 0, max_tokens: 3 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.completion_tokens, 3);
}

test('malformed JSON is a 400', async () => {
  assertOpenAiError(await server.post('/v1/chat/completions', '{"messages": [}'), 400, 'invalid_request_error');
  assertOpenAiError(await server.post('/v1/completions', '[1, 2]'), 400, 'invalid_request_error');
  // A number beyond double range (nlohmann's out_of_range, not a parse error): found by fuzzing.
  assertOpenAiError(await server.post('/v1/completions', `{"model":"${MODEL}","prompt":"x","max_tokens":1e400}`), 400, 'invalid_request_error');
  await stillServes();
});

test('wrong types and out-of-range values name the field', async () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  const cases = [
    [{ messages: msgs, temperature: 'hot' }, 'temperature'],
    [{ messages: msgs, temperature: -1 }, 'temperature'],
    [{ messages: msgs, top_p: 0 }, 'top_p'],
    [{ messages: msgs, max_tokens: 0 }, 'max_tokens'],
    [{ messages: msgs, max_tokens: 'ten' }, 'max_tokens'],
    [{ messages: msgs, n: 0 }, 'n'],
    [{ messages: msgs, stop: 5 }, 'stop'],
    [{ messages: msgs, logit_bias: { abc: 1 } }, 'logit_bias'],
    [{ messages: msgs, top_logprobs: 50, logprobs: true }, 'top_logprobs'],
    [{ messages: msgs, presence_penalty: 3 }, 'presence_penalty'],
    [{ messages: msgs, stream: 'yes' }, 'stream'],
    [{ messages: 'hi' }, 'messages'],
    [{ messages: [{ role: 'robot', content: 'hi' }] }, 'messages'],
    [{ messages: [] }, 'messages'],
    [{}, 'messages'],
  ];
  for (const [body, param] of cases) {
    assertOpenAiError(await server.post('/v1/chat/completions', { model: MODEL, ...body }), 400, 'invalid_request_error', param);
  }
  assertOpenAiError(await server.post('/v1/completions', { model: MODEL, prompt: 42 }), 400, 'invalid_request_error', 'prompt');
  assertOpenAiError(await server.post('/v1/completions', { model: MODEL, prompt: [1, -2] }), 400, 'invalid_request_error', 'prompt');
  assertOpenAiError(await server.post('/detokenize', { tokens: 'abc' }), 400, 'invalid_request_error', 'tokens');
  await stillServes();
});

test('an unknown model is a 404, an unknown route a 404, a wrong method a 405', async () => {
  assertOpenAiError(await server.post('/v1/chat/completions', { model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
    404, 'not_found_error');
  const nope = await server.post('/v1/nope', {});
  assert.equal(nope.status, 404);
  const wrong = await fetch(server.url + '/v1/chat/completions', { headers: server.headers() });
  assert.equal(wrong.status, 405);
  await stillServes();
});

test('an oversized body is a 413', async () => {
  const big = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(2 << 20) });
  let r;
  try {
    r = await server.post('/v1/completions', big);
  } catch (e) {
    // The server answers before reading the whole body and closes; some clients see a reset.
    assert.match(String(e.cause?.code ?? e), /ECONNRESET|EPIPE|UND_ERR_SOCKET/);
    r = null;
  }
  if (r) assertOpenAiError(r, 413, 'invalid_request_error');
  await stillServes();
});

test('a prompt over the context limit is a clear 400', async () => {
  const r = await server.post('/v1/completions', { model: MODEL, prompt: Array(300).fill(17), max_tokens: 4 });
  assertOpenAiError(r, 400, 'invalid_request_error');
  assert.match(r.json.error.message, /maximum context length is 256 tokens/);
  const chat = await server.post('/v1/chat/completions',
    { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 });
  assertOpenAiError(chat, 400, 'invalid_request_error');
  assert.match(chat.json.error.message, /maximum context length/);
  await stillServes();
});

test('missing or wrong API keys are a 401; /health and /metrics stay open', async () => {
  const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
  const none = await fetch(server.url + '/v1/chat/completions', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error.type, 'authentication_error');
  const wrong = await fetch(server.url + '/v1/models', { headers: { Authorization: 'Bearer sk-errors-tesT' } });
  assert.equal(wrong.status, 401);
  assert.equal((await fetch(server.url + '/health')).status, 200);
  assert.equal((await fetch(server.url + '/metrics')).status, 200);
  await stillServes();
});

test('a full waiting queue answers 429', async () => {
  // One running and one waiting slot: of eight long requests at once, some must be refused.
  const long = { model: MODEL, prompt: 'go', max_tokens: 120, ignore_eos: true, temperature: 0 };
  const results = await Promise.all(Array.from({ length: 8 }, () => server.post('/v1/completions', long)));
  const statuses = results.map((r) => r.status);
  assert.ok(statuses.includes(429), `statuses ${statuses}`);
  assert.ok(statuses.includes(200), `statuses ${statuses}`);
  for (const r of results.filter((x) => x.status === 429)) assertOpenAiError(r, 429, 'rate_limit_exceeded');
  await stillServes();
});

test('malformed HTTP is a 400 and the server keeps serving', async () => {
  const [host, port] = server.url.replace('http://', '').split(':');
  const reply = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host, () => sock.write('THIS IS NOT HTTP\r\n\r\n'));
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  await stillServes();
});

test('every answer carries x-request-id: the client\'s own when plain, else a fresh one', async () => {
  const ok = await server.post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 },
    { 'x-request-id': 'trace-42.a:b_c' });
  assert.equal(ok.headers.get('x-request-id'), 'trace-42.a:b_c');
  const bad = await server.post('/v1/chat/completions', { model: MODEL, messages: 'x' }, { 'x-request-id': 'no spaces <here>' });
  const made = bad.headers.get('x-request-id');
  assert.match(made, /^req-[0-9a-f]+-[0-9a-f]+$/);
  const other = await server.post('/v1/chat/completions', { model: MODEL, messages: 'x' });
  assert.notEqual(other.headers.get('x-request-id'), made);
  const stream = await fetch(server.url + '/v1/completions', { method: 'POST', headers: server.headers({ 'x-request-id': 'stream-1' }),
    body: JSON.stringify({ model: MODEL, prompt: 'go', max_tokens: 2, stream: true }) });
  assert.equal(stream.headers.get('x-request-id'), 'stream-1');
  await stream.text();
});
