// Structured outputs through the official openai client: on a random fixture model at
// temperature 1, every sampled answer parses and validates (ajv) against its JSON schema,
// because the grammar alone guarantees it. Also json_object, vLLM's guided_* fields,
// streaming, and the 400s for what the compiler refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { startServer } from './lib/server.mjs';

const MODEL = 'qwen2';
let server;
let client;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

before(async () => {
  server = await startServer({ model: MODEL, args: ['--served-model-name', MODEL] });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
});
after(async () => { assert.equal(await server.stop(), 0); });

const messages = [{ role: 'user', content: 'Describe a user as JSON.' }];

const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1, maximum: 9999 },
    name: { type: 'string', minLength: 1, maxLength: 6 },
    role: { enum: ['admin', 'editor', 'viewer'] },
    active: { type: 'boolean' },
    score: { type: 'number', minimum: 0, maximum: 100 },
    joined: { type: 'string', format: 'date' },
    tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]{1,4}$' }, maxItems: 3 },
    manager: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/ref' }] },
  },
  required: ['id', 'name', 'role', 'active', 'joined', 'manager'],
  additionalProperties: false,
  $defs: { ref: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 99 } }, required: ['id'], additionalProperties: false } },
};

test('json_schema: every sample at temperature 1 validates against the schema', async () => {
  const validate = ajv.compile(userSchema);
  let samples = 0;
  for (let seed = 0; seed < 4; seed++) {
    const r = await client.chat.completions.create({
      model: MODEL, messages, temperature: 1, seed, n: 8,
      response_format: { type: 'json_schema', json_schema: { name: 'user', strict: true, schema: userSchema } },
    });
    for (const choice of r.choices) {
      assert.equal(choice.finish_reason, 'stop', choice.message.content);
      const value = JSON.parse(choice.message.content);
      assert.ok(validate(value), `${choice.message.content}: ${ajv.errorsText(validate.errors)}`);
      samples++;
    }
  }
  assert.equal(samples, 32);
});

test('json_schema while streaming: the joined deltas validate', async () => {
  const schema = { type: 'object', properties: { answer: { enum: ['yes', 'no'] }, why: { type: 'string', maxLength: 8 } }, required: ['answer', 'why'] };
  const validate = ajv.compile(schema);
  for (let seed = 10; seed < 14; seed++) {
    const stream = await client.chat.completions.create({
      model: MODEL, messages, temperature: 1, seed, stream: true,
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'stop');
    assert.ok(validate(JSON.parse(text)), text);
  }
});

test('json_object: finished answers are JSON objects', async () => {
  const r = await client.chat.completions.create({
    model: MODEL, messages, temperature: 1, seed: 3, n: 8, response_format: { type: 'json_object' },
  });
  let finished = 0;
  for (const c of r.choices) {
    if (c.finish_reason === 'length') continue;  // free-form JSON may outgrow the 256-token context
    const v = JSON.parse(c.message.content);
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
    finished++;
  }
  assert.ok(finished > 0);
});

test('vLLM guided_choice, guided_regex and guided_json', async () => {
  const choice = await client.chat.completions.create({ model: MODEL, messages, temperature: 1, seed: 1, n: 8, guided_choice: ['red', 'green', 'blue'] });
  for (const c of choice.choices) assert.ok(['red', 'green', 'blue'].includes(c.message.content), c.message.content);

  const regex = await client.completions.create({ model: MODEL, prompt: 'Phone:', temperature: 1, seed: 2, n: 8, guided_regex: '\\(\\d{3}\\) \\d{3}-\\d{4}' });
  for (const c of regex.choices) assert.match(c.text, /^\(\d{3}\) \d{3}-\d{4}$/);

  const schema = { type: 'array', items: { type: 'integer', minimum: -5, maximum: 5 }, minItems: 2, maxItems: 4 };
  const validate = ajv.compile(schema);
  const json = await client.completions.create({ model: MODEL, prompt: 'List:', temperature: 1, seed: 3, n: 8, guided_json: schema });
  for (const c of json.choices) assert.ok(validate(JSON.parse(c.text)), c.text);
});

test('what the compiler cannot honour is a 400 naming the field, never ignored', async () => {
  const cases = [
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string', not: { const: 'b' } } } } } } }, 'response_format', /at \/properties\/a: the keyword not is not supported/],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { oneOf: [{ type: 'string' }] } } } }, 'response_format', /oneOf/],
    [{ response_format: { type: 'yaml' } }, 'response_format', /type must be/],
    [{ guided_regex: 'a(?=b)' }, 'guided_regex', /lookaround/],
    [{ guided_choice: 'red' }, 'guided_choice', /list of strings/],
  ];
  for (const [extra, param, message] of cases) {
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages, ...extra }), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.param, param);
      assert.match(e.message, message);
      return true;
    });
  }
});
