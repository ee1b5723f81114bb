// POST /v1/responses (the Responses API) through the official openai client: text and message
// inputs, instructions, max_output_tokens, streaming with the Responses event types,
// text.format structured output and function tools, and the 400s for what is not served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import Ajv from 'ajv';
import { startServer, modelsDir, longContextModel } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
const ref = JSON.parse(readFileSync(path.join(modelsDir, MODEL, 'reference.json'), 'utf8'));
let server;
let client;
const ajv = new Ajv({ strict: false, allErrors: true });

before(async () => {
  server = await startServer({ model: longContextModel(MODEL), args: ['--served-model-name', MODEL] });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
  chat = await client.chat.completions.create({ model: MODEL, messages: conv.messages, temperature: 0, max_tokens: 24 });
});
after(async () => { assert.equal(await server.stop(), 0); });

// The reference conversation as Responses input: its system message becomes instructions.
const conv = ref.chat[0];
const system = conv.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
const input = conv.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content }));

// The same conversation through chat completions: what the Responses API must answer. (The
// long-context copy of the fixture has its own YaRN factor, so not the reference text itself.)
let chat;

test('responses.create answers what chat completions answers, with usage and one message item', async () => {
  const r = await client.responses.create({ model: MODEL, input, ...(system ? { instructions: system } : {}),
    temperature: 0, max_output_tokens: 24 });
  assert.equal(r.object, 'response');
  assert.ok(r.id.startsWith('resp_'));
  assert.equal(r.output_text, chat.choices[0].message.content);
  assert.equal(r.status, chat.choices[0].finish_reason === 'length' ? 'incomplete' : 'completed');
  const messages = r.output.filter((o) => o.type === 'message');
  assert.equal(messages.length, 1);
  assert.equal(messages[0].role, 'assistant');
  assert.equal(messages[0].content[0].type, 'output_text');
  assert.equal(r.usage.input_tokens, chat.usage.prompt_tokens);
  assert.equal(r.usage.output_tokens, chat.usage.completion_tokens);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

test('a string input, and max_output_tokens cutting the answer: status incomplete', async () => {
  const r = await client.responses.create({ model: MODEL, input: 'Hello!', temperature: 0, max_output_tokens: 3 });
  assert.equal(r.status, 'incomplete');
  assert.equal(r.incomplete_details.reason, 'max_output_tokens');
  assert.equal(r.usage.output_tokens, 3);
  assert.equal(r.max_output_tokens, 3);
});

test('streaming: the Responses event sequence, and the deltas join to the final text', async () => {
  const stream = await client.responses.create({ model: MODEL, input, instructions: system || undefined,
    temperature: 0, max_output_tokens: 24, stream: true });
  const types = [];
  let text = '';
  let final = null;
  let seq = 0;
  for await (const event of stream) {
    assert.equal(event.sequence_number, seq++);
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.type === 'response.completed' || event.type === 'response.incomplete') final = event.response;
  }
  assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added',
    'response.content_part.added']);
  assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
    'response.output_item.done', chat.choices[0].finish_reason === 'length' ? 'response.incomplete' : 'response.completed']);
  assert.equal(text, chat.choices[0].message.content);
  assert.equal(final.output[0].content[0].text, text);
  assert.ok(final.usage.output_tokens > 0);
});

test('the SSE stream names each event on an event: line', async () => {
  const res = await fetch(server.url + '/v1/responses', { method: 'POST', headers: server.headers(),
    body: JSON.stringify({ model: MODEL, input: 'Hi', max_output_tokens: 2, stream: true }) });
  const body = await res.text();
  const blocks = body.trim().split('\n\n');
  for (const block of blocks) {
    const [eventLine, dataLine] = block.split('\n');
    const type = JSON.parse(dataLine.slice('data: '.length)).type;
    assert.equal(eventLine, `event: ${type}`);
  }
  assert.ok(!body.includes('[DONE]'));
});

test('text.format json_schema: every sample at temperature 1 validates', async () => {
  const schema = { type: 'object', properties: { city: { type: 'string', maxLength: 6 }, temp: { type: 'integer', minimum: -50, maximum: 50 } },
    required: ['city', 'temp'], additionalProperties: false };
  const validate = ajv.compile(schema);
  for (let seed = 0; seed < 6; seed++) {
    const r = await client.responses.create({ model: MODEL, input: 'Weather as JSON', temperature: 1, seed,
      text: { format: { type: 'json_schema', name: 'weather', schema, strict: true } } });
    const value = JSON.parse(r.output_text);
    assert.ok(validate(value), `${r.output_text}: ${ajv.errorsText(validate.errors)}`);
    assert.equal(r.text.format.type, 'json_schema');
  }
});

test('function tools: tool_choice required gives function_call items whose arguments validate', async () => {
  const parameters = { type: 'object', properties: { city: { type: 'string', minLength: 1, maxLength: 8 } },
    required: ['city'], additionalProperties: false };
  const validate = ajv.compile(parameters);
  const tools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', parameters, strict: true }];
  for (let seed = 0; seed < 4; seed++) {
    const r = await client.responses.create({ model: MODEL, input: 'Weather in Oslo?', tools, tool_choice: 'required',
      parallel_tool_calls: false, temperature: 1, seed });
    const calls = r.output.filter((o) => o.type === 'function_call');
    assert.equal(calls.length, 1, JSON.stringify(r.output));
    assert.equal(calls[0].name, 'get_weather');
    assert.ok(calls[0].call_id);
    assert.ok(validate(JSON.parse(calls[0].arguments)), calls[0].arguments);
    // The call and its result go back as input items; the model answers in text.
    const next = await client.responses.create({ model: MODEL, tools, temperature: 0, max_output_tokens: 4,
      input: [{ role: 'user', content: 'Weather in Oslo?' }, calls[0],
        { type: 'function_call_output', call_id: calls[0].call_id, output: '{"temp": 21}' }] });
    assert.equal(next.usage.output_tokens, 4);
    assert.ok(next.usage.input_tokens > r.usage.input_tokens);
  }
  // Streamed: the call's arguments arrive as function_call_arguments deltas.
  const stream = await client.responses.create({ model: MODEL, input: 'Weather?', tools,
    tool_choice: { type: 'function', name: 'get_weather' }, temperature: 1, seed: 5, stream: true });
  let args = '';
  let done = null;
  for await (const event of stream) {
    if (event.type === 'response.function_call_arguments.delta') args += event.delta;
    if (event.type === 'response.function_call_arguments.done') done = event;
  }
  assert.equal(done.arguments, args);
  assert.ok(validate(JSON.parse(args)), args);
});

test('what is not served is a 400 naming the field', async () => {
  const bad = [
    [{ input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id'],
    [{ input: 'x', background: true }, 'background'],
    [{ input: 'x', tools: [{ type: 'web_search' }] }, 'tools'],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input'],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x' }] }] }, 'input'],
    [{ input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
    [{ input: 'x', text: { format: { type: 'yaml' } } }, 'text'],
    [{ input: 'x', temperature: 'hot' }, 'temperature'],
    [{ input: null }, 'input'],
    [{ input: 'x', stream: 'yes' }, 'stream'],
  ];
  for (const [body, param] of bad) {
    const r = await server.post('/v1/responses', { model: MODEL, ...body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.param, param, r.text);
  }
});
