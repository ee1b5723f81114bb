// Our answers against the official OpenAI OpenAPI schemas (tests/e2e/openapi/, README.md there):
// chat completions (plain, logprobs, n > 1, json_schema, tool calls), every chunk of chat and
// completions streams, completions, the Responses API (the Response object and every stream
// event), error bodies and the models routes, from `fathom serve` directly and through
// `fathom gateway` in front of it. Where the spec and OpenAI's own API disagree, the narrow
// exception is spelled out here and in openapi/README.md ("Quirks").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, longContextModel } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';
import { assertMatchesSchema } from './lib/openapi.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-openapi-'));
const SERVER_KEY = 'sk-openapi-test';
let direct, upstream, gateway, modelDir;
const targets = [];  // a Target per binary, once `before` ran

// One client per binary: the same requests, each with its own model name and key.
class Target {
  constructor(name, url, model, key) {
    Object.assign(this, { name, url, model, key });
  }
  headers(key = this.key) {
    return { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) };
  }
  async request(method, route, body, key) {
    const res = await fetch(this.url + route, {
      method, headers: this.headers(key), body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60000),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { assert.fail(`${this.name} ${method} ${route}: ${res.status}, not JSON: ${text}`); }
    return { status: res.status, json, text, contentType: res.headers.get('content-type') };
  }
  post(route, body, key) { return this.request('POST', route, body, key); }
  get(route, key) { return this.request('GET', route, undefined, key); }
  /** POSTs a stream request; every SSE event, parsed, in order (see readEvents). */
  async stream(route, body) {
    const res = await fetch(this.url + route, {
      method: 'POST', headers: this.headers(), body: JSON.stringify({ ...body, stream: true }),
      signal: AbortSignal.timeout(60000),
    });
    assert.equal(res.status, 200, `${this.name} ${route} stream: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    return readEvents(res);
  }
}

/**
 * Reads a whole text/event-stream body by the SSE rules: events end at a blank line (LF or
 * CRLF), `:` lines are comments, `data:` lines join with "\n". Resolves to
 * [{event, data, raw}] with `data` parsed as JSON (the string '[DONE]' stays a string).
 */
async function readEvents(response) {
  const decoder = new TextDecoder();
  const events = [];
  let buffer = '';
  const flush = (block) => {
    const lines = block.split(/\r?\n/);
    const data = [];
    let event = 'message';
    for (const line of lines) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
    if (!data.length) return;  // a comment-only block (keep-alive)
    const text = data.join('\n');
    let parsed = text;
    if (text !== '[DONE]') {
      try { parsed = JSON.parse(text); } catch { assert.fail(`an SSE event that is not JSON: ${JSON.stringify(block)}`); }
    }
    events.push({ event, data: parsed, raw: block });
  };
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let m; (m = /\r?\n\r?\n/.exec(buffer));) {
      flush(buffer.slice(0, m.index));
      buffer = buffer.slice(m.index + m[0].length);
    }
  }
  buffer += decoder.decode();
  assert.equal(buffer.trim(), '', `the stream ended inside an event: ${JSON.stringify(buffer)}`);
  return events;
}

/** The JSON chunks of a chat/completions stream; checks it ends with exactly one [DONE]. */
function chunksOf(events, what) {
  assert.ok(events.length >= 2, `${what}: ${events.length} events`);
  assert.equal(events.at(-1).data, '[DONE]', `${what}: the last event is ${events.at(-1).raw}`);
  const chunks = events.slice(0, -1).map((e) => e.data);
  for (const c of chunks) assert.notEqual(c, '[DONE]', `${what}: [DONE] before the end`);
  return chunks;
}

/**
 * The spec has no schema of its own for a completions stream chunk: it documents the stream as
 * CreateCompletionResponse objects (Quirks 1 and 2 in openapi/README.md). Two fields differ
 * from a whole response, in the way OpenAI's API sends them:
 * - choices[].finish_reason is a non-null enum there, but every chunk before a choice's last
 *   has `finish_reason: null` (the choice has not finished). Checked: null only while the
 *   choice goes on; then validated as the enum's "stop".
 * - with stream_options.include_usage, "all other chunks will also include a `usage` field,
 *   but with a null value" (ChatCompletionStreamOptions, which the completions request uses),
 *   but CreateCompletionResponse.usage is not nullable. Checked: null on every chunk but the
 *   last; then validated without it (usage is optional).
 * Everything else in the chunk is validated as it is.
 */
function assertCompletionChunk(chunk, context, finishedChoices, { includeUsage = false, last = false } = {}) {
  const copy = structuredClone(chunk);
  for (const c of copy.choices ?? []) {
    if (c.finish_reason === null) {
      assert.ok(!finishedChoices.has(c.index), `${context}: choice ${c.index} goes on after its finish_reason`);
      c.finish_reason = 'stop';
    } else {
      finishedChoices.add(c.index);
    }
  }
  if (includeUsage && !last) {
    assert.equal(copy.usage, null, `${context}: with include_usage, chunks before the last carry usage: null`);
    delete copy.usage;
  }
  assertMatchesSchema('CreateCompletionResponse', copy, context);
}

/**
 * A Response object (a non-streamed answer, or the `response` of a response.* event) as the
 * schema reads it. Two fields OpenAI's API (and the spec's own examples of these events) send
 * as null are non-nullable, optional properties in the schema (Quirk 3 in openapi/README.md):
 * `user` (deprecated; null when not given) and `usage` (null until the response has finished).
 * Checked: `user` is null or the string given; `usage` is null exactly while the status is
 * queued or in_progress. Then validated without those nulls; everything else as it is.
 */
function responseForSchema(response, context) {
  const copy = structuredClone(response);
  if (copy.user === null) delete copy.user;
  const running = copy.status === 'queued' || copy.status === 'in_progress';
  if (running) {
    assert.equal(copy.usage, null, `${context}: usage while ${copy.status}`);
    delete copy.usage;
  } else {
    assert.equal(typeof copy.usage, 'object', `${context}: a ${copy.status} response has usage`);
    assert.notEqual(copy.usage, null, `${context}: a ${copy.status} response has usage`);
  }
  return copy;
}

function assertResponse(response, context) {
  assertMatchesSchema('Response', responseForSchema(response, context), context);
}

function assertResponseEvent(event, context) {
  const copy = event.response ? { ...event, response: responseForSchema(event.response, context) } : event;
  assertMatchesSchema('ResponseStreamEvent', copy, `${context} (${event.type})`);
}

const schema = {
  type: 'object', properties: { city: { enum: ['Oslo', 'Lima'] }, rank: { type: 'integer', minimum: 1, maximum: 9 } },
  required: ['city', 'rank'], additionalProperties: false,
};

before(async () => {
  // `direct`: the server the tests talk to, with an API key (for the 401); `upstream`: the one
  // behind the gateway (the gateway sends no key upstream).
  // deepseek_v3 with room for prompts that carry tool schemas (the fixture has 256 positions).
  modelDir = longContextModel('deepseek_v3');
  [direct, upstream] = await Promise.all([
    startServer({ model: modelDir, args: ['--served-model-name', 'tiny'], apiKey: SERVER_KEY }),
    startServer({ model: modelDir, args: ['--served-model-name', 'tiny'] }),
  ]);
  const config = path.join(dir, 'gateway.yaml');
  writeFileSync(config, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
health_check: {interval_ms: 600000}
pools:
  main:
    policy: round_robin
    upstreams:
      - {url: ${upstream.url}, model: tiny}
models:
  - {name: deepseek-chat, aliases: [ds], pool: main}
`);
  const key = fathom('keys', 'create', '--config', config, '--tenant', 'openapi');
  gateway = await Gateway.start(config);
  targets.push(new Target('serve', direct.url, 'tiny', SERVER_KEY), new Target('gateway', gateway.url, 'ds', key));
});

after(async () => {
  await gateway?.stop();
  for (const s of [direct, upstream]) if (s && s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
  rmSync(dir, { recursive: true, force: true });
  if (modelDir) rmSync(modelDir, { recursive: true, force: true });
});

const chatBody = (t, extra = {}) => ({
  model: t.model, messages: [{ role: 'user', content: 'Say something about the sea.' }], max_tokens: 8, temperature: 0, ...extra,
});
const completionBody = (t, extra = {}) => ({ model: t.model, prompt: 'The sea is', max_tokens: 8, temperature: 0, ...extra });

// Each test runs against both binaries (the targets exist once `before` ran).
const both = (title, fn) => test(title, async () => {
  assert.equal(targets.length, 2);
  for (const t of targets) await fn(t, `${t.name}: ${title}`);
});

both('chat completion', async (t, what) => {
  const r = await t.post('/v1/chat/completions', chatBody(t));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateChatCompletionResponse', r.json, what);
});

both('chat completion with logprobs and top_logprobs', async (t, what) => {
  const r = await t.post('/v1/chat/completions', chatBody(t, { logprobs: true, top_logprobs: 3 }));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateChatCompletionResponse', r.json, what);
  const content = r.json.choices[0].logprobs?.content;
  assert.ok(content?.length > 0, `${what}: no logprobs content`);  // the variant was exercised
  assert.equal(content[0].top_logprobs.length, 3);
});

both('chat completion with n=2', async (t, what) => {
  const r = await t.post('/v1/chat/completions', chatBody(t, { n: 2, temperature: 1, seed: 7 }));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateChatCompletionResponse', r.json, what);
  assert.deepEqual(r.json.choices.map((c) => c.index), [0, 1]);
});

both('chat completion with response_format json_schema', async (t, what) => {
  const r = await t.post('/v1/chat/completions', chatBody(t, {
    max_tokens: 64, response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema } },
  }));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateChatCompletionResponse', r.json, what);
  assert.equal(r.json.choices[0].finish_reason, 'stop');
  JSON.parse(r.json.choices[0].message.content);
});

both('every chunk of a chat stream with stream_options.include_usage', async (t, what) => {
  const chunks = chunksOf(await t.stream('/v1/chat/completions', chatBody(t, { stream_options: { include_usage: true } })), what);
  chunks.forEach((c, i) => assertMatchesSchema('CreateChatCompletionStreamResponse', c, `${what}, chunk ${i}`));
  // The usage chunk came, last, with no choices.
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(typeof chunks.at(-1).usage?.total_tokens, 'number');
  assert.ok(chunks.some((c) => c.choices[0]?.finish_reason), `${what}: no chunk finished the choice`);
});

both('every chunk of a chat stream with logprobs', async (t, what) => {
  const chunks = chunksOf(await t.stream('/v1/chat/completions', chatBody(t, { logprobs: true, top_logprobs: 2 })), what);
  chunks.forEach((c, i) => assertMatchesSchema('CreateChatCompletionStreamResponse', c, `${what}, chunk ${i}`));
  assert.ok(chunks.some((c) => c.choices[0]?.logprobs?.content?.length > 0), `${what}: no chunk had logprobs`);
});

both('every chunk of a chat stream with n=2', async (t, what) => {
  const chunks = chunksOf(await t.stream('/v1/chat/completions', chatBody(t, { n: 2, temperature: 1, seed: 3 })), what);
  chunks.forEach((c, i) => assertMatchesSchema('CreateChatCompletionStreamResponse', c, `${what}, chunk ${i}`));
});

both('completion', async (t, what) => {
  const r = await t.post('/v1/completions', completionBody(t));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateCompletionResponse', r.json, what);
});

both('completion with logprobs', async (t, what) => {
  const r = await t.post('/v1/completions', completionBody(t, { logprobs: 2 }));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateCompletionResponse', r.json, what);
  assert.ok(r.json.choices[0].logprobs?.tokens?.length > 0, `${what}: no logprobs`);
});

both('every chunk of a completions stream', async (t, what) => {
  for (const extra of [{}, { logprobs: 2 }]) {
    const chunks = chunksOf(await t.stream('/v1/completions', completionBody(t, extra)), what);
    const finished = new Set();
    chunks.forEach((c, i) => assertCompletionChunk(c, `${what} ${JSON.stringify(extra)}, chunk ${i}`, finished));
    assert.deepEqual([...finished], [0], `${what}: the choice finished once`);
  }
});

both('every chunk of a completions stream with stream_options.include_usage', async (t, what) => {
  const chunks = chunksOf(await t.stream('/v1/completions', completionBody(t, { stream_options: { include_usage: true } })), what);
  const finished = new Set();
  chunks.forEach((c, i) => assertCompletionChunk(c, `${what}, chunk ${i}`, finished, { includeUsage: true, last: i === chunks.length - 1 }));
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(typeof chunks.at(-1).usage?.total_tokens, 'number');
});

const weather = {
  type: 'object', properties: { city: { type: 'string', minLength: 1, maxLength: 8 } }, required: ['city'], additionalProperties: false,
};
const chatTools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: weather } }];

both('chat completion with tool calls (tool_choice required)', async (t, what) => {
  const r = await t.post('/v1/chat/completions', chatBody(t, { tools: chatTools, tool_choice: 'required', temperature: 1, seed: 2, max_tokens: 400 }));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assertMatchesSchema('CreateChatCompletionResponse', r.json, what);
  assert.equal(r.json.choices[0].finish_reason, 'tool_calls');
  assert.ok(r.json.choices[0].message.tool_calls?.length > 0, `${what}: no tool calls`);
});

both('every chunk of a chat stream with tool calls', async (t, what) => {
  const chunks = chunksOf(await t.stream('/v1/chat/completions', chatBody(t, { tools: chatTools, tool_choice: 'required', temperature: 1, seed: 4, max_tokens: 400 })), what);
  chunks.forEach((c, i) => assertMatchesSchema('CreateChatCompletionStreamResponse', c, `${what}, chunk ${i}`));
  assert.ok(chunks.some((c) => c.choices[0]?.delta?.tool_calls?.length > 0), `${what}: no tool_calls delta`);
});

// ---- the Responses API ----

const responsesTools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', parameters: weather, strict: true }];
const responsesBodies = (t) => ({
  'a string input cut by max_output_tokens': { model: t.model, input: 'Hello!', temperature: 0, max_output_tokens: 5 },
  'message input with instructions': { model: t.model, instructions: 'Be brief.', input: [{ role: 'user', content: 'Hi there' }],
    temperature: 0, max_output_tokens: 12 },
  'text.format json_schema': { model: t.model, input: 'Pick a city', temperature: 1, seed: 3, max_output_tokens: 64,
    text: { format: { type: 'json_schema', name: 'city', schema, strict: true } } },
  'function tools, tool_choice required': { model: t.model, input: 'Weather in Oslo?', tools: responsesTools, tool_choice: 'required',
    parallel_tool_calls: false, temperature: 1, seed: 1, max_output_tokens: 400 },
});

both('Responses API: the Response object', async (t, what) => {
  for (const [name, body] of Object.entries(responsesBodies(t))) {
    const r = await t.post('/v1/responses', body);
    assert.equal(r.status, 200, `${what}, ${name}: ${r.text}`);
    assertResponse(r.json, `${what}, ${name}`);
    if (body.tools) {
      const call = r.json.output.find((o) => o.type === 'function_call');
      assert.ok(call, `${what}: no function_call item in ${JSON.stringify(r.json.output)}`);
      // The call and its output go back as input items.
      const next = await t.post('/v1/responses', { model: t.model, tools: responsesTools, temperature: 0, max_output_tokens: 4,
        input: [{ role: 'user', content: 'Weather in Oslo?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp": 21}' }] });
      assert.equal(next.status, 200, `${what}, ${name}, follow-up: ${next.text}`);
      assertResponse(next.json, `${what}, ${name}, follow-up`);
    }
  }
});

both('Responses API: every stream event', async (t, what) => {
  for (const [name, body] of Object.entries(responsesBodies(t))) {
    const events = await t.stream('/v1/responses', body);
    const context = `${what}, ${name}`;
    assert.ok(events.length >= 3, `${context}: ${events.length} events`);
    events.forEach((e, i) => {
      assert.notEqual(e.data, '[DONE]', `${context}: the Responses stream has no [DONE]`);
      assert.equal(e.event, e.data.type, `${context}: the event: line names the event's type`);
      assert.equal(e.data.sequence_number, i, `${context}: sequence numbers count up from 0`);
      assertResponseEvent(e.data, `${context}, event ${i}`);
    });
    assert.equal(events[0].data.type, 'response.created');
    assert.match(events.at(-1).data.type, /^response\.(completed|incomplete)$/);
  }
});

both('error bodies: 400 for a bad field, 401 for a bad key, 404 for an unknown model', async (t, what) => {
  const bad = await t.post('/v1/chat/completions', chatBody(t, { temperature: 'hot' }));
  assert.equal(bad.status, 400, `${what}: ${bad.text}`);
  assertMatchesSchema('ErrorResponse', bad.json, `${what} (400)`);
  const badCompletion = await t.post('/v1/completions', completionBody(t, { max_tokens: 'ten' }));
  assert.equal(badCompletion.status, 400, `${what}: ${badCompletion.text}`);
  assertMatchesSchema('ErrorResponse', badCompletion.json, `${what} (400, completions)`);
  const unauthorized = await t.post('/v1/chat/completions', chatBody(t), 'sk-not-the-key');
  assert.equal(unauthorized.status, 401, `${what}: ${unauthorized.text}`);
  assertMatchesSchema('ErrorResponse', unauthorized.json, `${what} (401)`);
  const unknown = await t.post('/v1/chat/completions', chatBody(t, { model: 'gpt-9' }));
  assert.equal(unknown.status, 404, `${what}: ${unknown.text}`);
  assertMatchesSchema('ErrorResponse', unknown.json, `${what} (404)`);
  const badResponses = await t.post('/v1/responses', { model: t.model, input: 'x', temperature: 'hot' });
  assert.equal(badResponses.status, 400, `${what}: ${badResponses.text}`);
  assertMatchesSchema('ErrorResponse', badResponses.json, `${what} (400, responses)`);
  const unknownModel = await t.get('/v1/models/gpt-9');
  assert.equal(unknownModel.status, 404, `${what}: ${unknownModel.text}`);
  assertMatchesSchema('ErrorResponse', unknownModel.json, `${what} (404, models)`);
});

both('models list and retrieve', async (t, what) => {
  const list = await t.get('/v1/models');
  assert.equal(list.status, 200, `${what}: ${list.text}`);
  assertMatchesSchema('ListModelsResponse', list.json, `${what} (list)`);
  assert.ok(list.json.data.some((m) => m.id === t.model), `${what}: ${t.model} is not listed`);
  const one = await t.get(`/v1/models/${t.model}`);
  assert.equal(one.status, 200, `${what}: ${one.text}`);
  assertMatchesSchema('Model', one.json, `${what} (retrieve)`);
  assert.equal(one.json.id, t.model);
});

test('the validator is not vacuous: what breaks the spec fails, with its instance path', async () => {
  const t = targets[0];
  const ok = (await t.post('/v1/chat/completions', chatBody(t))).json;
  assertMatchesSchema('CreateChatCompletionResponse', ok);
  const broken = (mutate) => { const c = structuredClone(ok); mutate(c); return c; };
  const cases = [
    [(c) => { delete c.choices[0].message.role; }, /\/choices\/0\/message must have required property 'role'/],
    [(c) => { c.choices[0].finish_reason = 'done'; }, /\/choices\/0\/finish_reason must be equal to one of the allowed values/],
    [(c) => { c.created = Date.now(); }, /\/created must match format "unixtime"/],  // milliseconds
    [(c) => { c.object = 'chat.completion.chunk'; }, /\/object must be equal to one of the allowed values/],
    [(c) => { c.usage.total_tokens = '3'; }, /\/usage\/total_tokens must be integer/],
  ];
  for (const [mutate, message] of cases) assert.throws(() => assertMatchesSchema('CreateChatCompletionResponse', broken(mutate)), message);
  // OpenAPI 3.0's nullable (read here as null joining type and enum) admits null and only null.
  const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: null, logprobs: null }] };
  assertMatchesSchema('CreateChatCompletionStreamResponse', chunk);
  assert.throws(() => assertMatchesSchema('CreateChatCompletionStreamResponse', { ...chunk, choices: [{ ...chunk.choices[0], finish_reason: 'x' }] }),
    /\/choices\/0\/finish_reason/);
  // A union: the branch that the event's type selects names what is missing.
  assert.throws(() => assertMatchesSchema('ResponseStreamEvent', { type: 'response.output_text.delta', item_id: 'i', output_index: 0, content_index: 0, delta: 'x', logprobs: [] }),
    /as ResponseTextDeltaEvent[^]*must have required property 'sequence_number'/);
});
