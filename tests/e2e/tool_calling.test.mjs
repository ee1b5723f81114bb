// Tool calling through the official openai client, on the random DeepSeek-V3 fixture (whose
// own chat template ignores `tools`): the tools reach the prompt; tool_choice "required" and a
// named function are enforced by constrained decoding, so at temperature 1 every sampled
// answer is a call to a listed tool whose arguments validate (ajv) against its schema;
// parallel_tool_calls false allows one call; streamed deltas follow OpenAI's chunk format.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Ajv from 'ajv';
import { startServer, longContextModel } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
let server;
let client;
const ajv = new Ajv({ strict: false, allErrors: true });

before(async () => {
  server = await startServer({ model: longContextModel(MODEL), args: ['--served-model-name', MODEL] });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
});
after(async () => { assert.equal(await server.stop(), 0); });

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city',
    parameters: { type: 'object', properties: {
      city: { type: 'string', minLength: 1, maxLength: 8 },
      unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false } } },
  { type: 'function', function: { name: 'add', description: 'Adds two integers',
    parameters: { type: 'object', properties: { a: { type: 'integer', minimum: -99, maximum: 99 },
      b: { type: 'integer', minimum: -99, maximum: 99 } }, required: ['a', 'b'], additionalProperties: false } } },
  { type: 'function', function: { name: 'now', description: 'The time now' } },
];
const validators = Object.fromEntries(tools.map((t) => [t.function.name,
  ajv.compile(t.function.parameters ?? { type: 'object', properties: {}, additionalProperties: false })]));
const messages = [{ role: 'user', content: 'What is the weather in Oslo?' }];

/** Every call names a listed tool and its arguments validate against that tool's schema. */
function assertValidCalls(calls, { count = null, name = null } = {}) {
  assert.ok(Array.isArray(calls) && calls.length > 0, `tool calls expected, got ${JSON.stringify(calls)}`);
  if (count !== null) assert.equal(calls.length, count);
  const ids = new Set();
  for (const call of calls) {
    assert.equal(call.type, 'function');
    assert.ok(call.id && !ids.has(call.id), `unique call ids: ${call.id}`);
    ids.add(call.id);
    if (name) assert.equal(call.function.name, name);
    const validate = validators[call.function.name];
    assert.ok(validate, `not a listed tool: ${call.function.name}`);
    const args = JSON.parse(call.function.arguments);
    assert.ok(validate(args), `${call.function.arguments}: ${ajv.errorsText(validate.errors)}`);
  }
}

test('tools reach the prompt even though the template ignores them; tool_choice none hides them', async () => {
  const usage = async (extra) => (await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1, ...extra })).usage.prompt_tokens;
  const plain = await usage({});
  const withTools = await usage({ tools });
  assert.ok(withTools > plain + 50, `${withTools} vs ${plain}`);
  assert.equal(await usage({ tools, tool_choice: 'none' }), plain);
  // /tokenize counts the same prompt as the chat route renders.
  const tok = await server.post('/tokenize', { model: MODEL, messages, tools });
  assert.equal(tok.json.count, withTools);
});

test('tool_choice "required": every sample at temperature 1 is valid calls to listed tools', async () => {
  let samples = 0;
  for (let seed = 0; seed < 3; seed++) {
    const r = await client.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'required',
      temperature: 1, seed, n: 6, max_tokens: 400 });
    for (const choice of r.choices) {
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.content, null);
      assertValidCalls(choice.message.tool_calls);
      samples++;
    }
  }
  assert.equal(samples, 18);
});

test('a named function: every sample is one call to it with valid arguments', async () => {
  for (const name of ['get_weather', 'add', 'now']) {
    const r = await client.chat.completions.create({ model: MODEL, messages, tools,
      tool_choice: { type: 'function', function: { name } }, temperature: 1, seed: 7, n: 6 });
    for (const choice of r.choices) {
      assert.equal(choice.finish_reason, 'tool_calls');
      assertValidCalls(choice.message.tool_calls, { count: 1, name });
    }
  }
});

test('parallel_tool_calls false: exactly one call', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'required',
    parallel_tool_calls: false, temperature: 1, seed: 3, n: 8 });
  for (const choice of r.choices) assertValidCalls(choice.message.tool_calls, { count: 1 });
});

test('streamed tool calls: ids and names in each call\'s first delta, arguments in pieces', async () => {
  for (const tool_choice of ['required', { type: 'function', function: { name: 'add' } }]) {
    const stream = await client.chat.completions.create({ model: MODEL, messages, tools, tool_choice,
      temperature: 1, seed: 11, max_tokens: 400, stream: true, stream_options: { include_usage: true } });
    const calls = [];
    let finish = null;
    let pieces = 0;
    for await (const chunk of stream) {
      if (!chunk.choices.length) continue;
      const { delta, finish_reason } = chunk.choices[0];
      if (finish_reason) finish = finish_reason;
      assert.equal(delta.content ?? null, delta.role ? '' : null, JSON.stringify(delta));
      for (const d of delta.tool_calls ?? []) {
        if (d.index === calls.length) {
          assert.ok(d.id && d.type === 'function' && d.function.name, `first delta of a call: ${JSON.stringify(d)}`);
          calls.push({ id: d.id, type: 'function', function: { name: d.function.name, arguments: '' } });
        } else {
          assert.equal(d.id, undefined);
          assert.equal(d.function.name, undefined);
        }
        calls[d.index].function.arguments += d.function.arguments ?? '';
        pieces++;
      }
    }
    assert.equal(finish, 'tool_calls');
    assertValidCalls(calls, tool_choice === 'required' ? {} : { count: 1, name: 'add' });
    assert.ok(pieces > calls.length, 'arguments arrive in several deltas');
  }
});

test('what cannot be honoured is a 400 naming the field', async () => {
  const bad = [
    [{ tools, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
    [{ tool_choice: 'required' }, 'tool_choice'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', not: {} } } }], tool_choice: 'required' }, 'tools'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }, 'tools'],
    [{ tools, tool_choice: 'required', response_format: { type: 'json_object' } }, 'tool_choice'],
    [{ tools, parallel_tool_calls: 'no' }, 'parallel_tool_calls'],
  ];
  for (const [extra, param] of bad) {
    const r = await server.post('/v1/chat/completions', { model: MODEL, messages, ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.json.error.param, param, r.text);
  }
});
