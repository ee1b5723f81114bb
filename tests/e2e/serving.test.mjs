// Concurrency, cancellation, prefix caching, stop strings, logprobs and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postStream, readSse, FathomServer } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
let server;

before(async () => { server = await startServer({ model: MODEL, args: ['--metrics-names', 'vllm'] }); });
after(async () => { assert.equal(await server.stop(), 0); });

const sample = FathomServer.sample;

function requestFor(i) {
  return {
    model: MODEL,
    messages: [{ role: 'user', content: `request number ${i}: ${'tell me more '.repeat(i % 5)}` }],
    temperature: 0,
    max_tokens: 8 + (i % 7) * 3,
  };
}

test('32 concurrent requests give the same outputs as one at a time', async () => {
  const sequential = [];
  for (let i = 0; i < 32; ++i) {
    const r = await server.post('/v1/chat/completions', requestFor(i));
    assert.equal(r.status, 200, r.text);
    sequential.push(r.json.choices[0]);
  }
  const concurrent = await Promise.all(
    Array.from({ length: 32 }, (_, i) => server.post('/v1/chat/completions', requestFor(i))));
  concurrent.forEach((r, i) => {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, sequential[i].message.content, `request ${i}`);
    assert.equal(r.json.choices[0].finish_reason, sequential[i].finish_reason, `request ${i}`);
  });
});

test('a cancelled stream is aborted and its KV blocks come back', async () => {
  const before = await server.metrics();
  const controller = new AbortController();
  const res = await postStream(server, '/v1/completions',
    { model: MODEL, prompt: 'a long story', max_tokens: 200, ignore_eos: true, temperature: 0 },
    { signal: controller.signal });
  assert.equal(res.status, 200);
  let contentChunks = 0;
  await assert.rejects(readSse(res, (ev) => {
    if (ev !== '[DONE]' && ev.choices?.[0]?.text) ++contentChunks;
    if (contentChunks === 2) controller.abort();
  }), { name: 'AbortError' });
  // Bounded poll of /metrics until the engine has freed everything.
  let m;
  for (let i = 0; i < 2000; ++i) {
    m = await server.metrics();
    if (sample(m, 'fathom_num_requests_running') === 0 &&
        sample(m, 'fathom_kv_cache_usage_ratio') === 0 &&
        sample(m, 'fathom_http_active_requests') === 1 &&
        (sample(m, 'fathom_engine_requests_finished_total', 'abort') ?? 0) >
          (sample(before, 'fathom_engine_requests_finished_total', 'abort') ?? 0)) break;
  }
  assert.equal(sample(m, 'fathom_num_requests_running'), 0);
  assert.equal(sample(m, 'fathom_kv_cache_usage_ratio'), 0);
  assert.equal(sample(m, 'fathom_kv_cache_free_blocks'), sample(m, 'fathom_kv_cache_blocks'));
  assert.equal(sample(m, 'fathom_http_active_requests'), 1, 'only the /metrics request itself');
  assert.ok(sample(m, 'fathom_client_disconnects_total') > (sample(before, 'fathom_client_disconnects_total') ?? 0));
  assert.ok(sample(m, 'fathom_engine_requests_finished_total', 'abort') >
            (sample(before, 'fathom_engine_requests_finished_total', 'abort') ?? 0));
});

test('a client that leaves a non-streaming request has it cancelled too', async () => {
  const before = await server.metrics();
  const controller = new AbortController();
  const pending = fetch(server.url + '/v1/completions', {
    method: 'POST', headers: server.headers(), signal: controller.signal,
    body: JSON.stringify({ model: MODEL, prompt: 'a long story', max_tokens: 240, ignore_eos: true }),
  });
  // Abort once the engine has the request running (bounded poll).
  for (let i = 0; i < 2000; ++i) {
    if (sample(await server.metrics(), 'fathom_num_requests_running') === 1) break;
  }
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  let m;
  for (let i = 0; i < 2000; ++i) {
    m = await server.metrics();
    if (sample(m, 'fathom_client_disconnects_total') > (sample(before, 'fathom_client_disconnects_total') ?? 0) &&
        sample(m, 'fathom_num_requests_running') === 0 && sample(m, 'fathom_http_active_requests') === 1) break;
  }
  assert.ok(sample(m, 'fathom_client_disconnects_total') > (sample(before, 'fathom_client_disconnects_total') ?? 0));
  assert.equal(sample(m, 'fathom_num_requests_running'), 0);
  assert.equal(sample(m, 'fathom_kv_cache_usage_ratio'), 0);
  assert.equal(sample(m, 'fathom_http_active_requests'), 1);
});

test('a repeated long prefix is served from the prefix cache', async () => {
  const system = 'You are a careful assistant. '.repeat(12);
  const ask = (q) => server.post('/v1/chat/completions', {
    model: MODEL, temperature: 0, max_tokens: 4,
    messages: [{ role: 'system', content: system }, { role: 'user', content: q }],
  });
  const first = await ask('first question');
  assert.equal(first.status, 200, first.text);
  const before = await server.metrics();
  const second = await ask('second question');
  assert.equal(second.status, 200, second.text);
  assert.ok(second.json.usage.prompt_tokens > 64);
  assert.ok(second.json.usage.prompt_tokens_details.cached_tokens >= 48,
    `cached ${second.json.usage.prompt_tokens_details.cached_tokens} of ${second.json.usage.prompt_tokens}`);
  const after = await server.metrics();
  assert.ok(sample(after, 'fathom_prefix_cache_hits_tokens_total') - sample(before, 'fathom_prefix_cache_hits_tokens_total') >= 48);
  assert.ok(sample(after, 'vllm:prefix_cache_hits_total') >= 48);
});

test('stop strings end the text, also when split across tokens, streaming and not', async () => {
  const base = { model: MODEL, prompt: [0, 3, 435, 16, 4], temperature: 0, max_tokens: 24 };
  const full = (await server.post('/v1/completions', base)).json.choices[0].text;
  // Pick a stop string that straddles the output: 2 chars from the 4th character on.
  const chars = [...full];
  const stop = chars.slice(3, 5).join('');
  const want = chars.slice(0, full.indexOf(stop) >= 0 ? [...full.slice(0, full.indexOf(stop))].length : 0).join('');
  const r = await server.post('/v1/completions', { ...base, stop: [stop] });
  assert.equal(r.json.choices[0].finish_reason, 'stop');
  assert.equal(r.json.choices[0].text, want);
  assert.ok(r.json.usage.completion_tokens < 24);
  const withStop = await server.post('/v1/completions', { ...base, stop: stop, include_stop_str_in_output: true });
  assert.equal(withStop.json.choices[0].text, want + stop);
  const events = await readSse(await postStream(server, '/v1/completions', { ...base, stop: [stop] }));
  const streamed = events.filter((e) => e !== '[DONE]').map((e) => e.choices[0].text).join('');
  assert.equal(streamed, want);
  assert.equal(events.filter((e) => e !== '[DONE]').at(-1).choices[0].finish_reason, 'stop');
});

test('logprobs and top_logprobs come back for each token', async () => {
  const r = await server.post('/v1/chat/completions', {
    model: MODEL, messages: [{ role: 'user', content: 'Hello!' }], temperature: 0, max_tokens: 5, logprobs: true, top_logprobs: 3,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].logprobs.refusal, null);
  const content = r.json.choices[0].logprobs.content;
  assert.equal(content.length, 5);
  for (const t of content) {
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.logprob <= 0);
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(t.logprob - t.top_logprobs[0].logprob) < 1e-5);
  }
});

test('/metrics speaks Prometheus with fathom and vLLM names', async () => {
  const { status, text } = await server.get('/metrics');
  assert.equal(status, 200);
  for (const name of ['fathom_num_requests_running', 'fathom_num_requests_waiting', 'fathom_kv_cache_usage_ratio',
    'fathom_prefix_cache_queries_tokens_total', 'fathom_num_preemptions_total', 'fathom_prompt_tokens_total',
    'fathom_generation_tokens_total', 'fathom_time_to_first_token_seconds_bucket', 'fathom_inter_token_latency_seconds_count',
    'fathom_e2e_request_latency_seconds_sum', 'fathom_request_queue_time_seconds_count', 'fathom_requests_finished_total',
    'vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:request_success_total']) {
    assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), name);
  }
  const m = await server.metrics();
  assert.ok(sample(m, 'fathom_requests_finished_total', 'finished_reason="length"') > 0);
  assert.ok(sample(m, 'fathom_generation_tokens_total') > 0);
});
