// The client libraries people use, against `fathom serve` and through `fathom gateway`: the
// Vercel AI SDK's default OpenAI provider (`openai(model)`: the Responses API) and its
// OpenAI-compatible provider (chat completions), and LangChain's ChatOpenAI (chat completions
// and, with useResponsesApi, the Responses API). Text, streaming, structured output whose
// parsed value validates, and required tool calls whose arguments validate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateText, streamText, Output, tool, jsonSchema } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import Ajv from 'ajv';
import { startServer, longContextModel } from './lib/server.mjs';
import { Gateway, fathom } from './lib/gateway.mjs';

const MODEL = 'deepseek_v3';
const ajv = new Ajv({ strict: false, allErrors: true });
const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-sdk-'));
let server;
let gateway;
const targets = [];  // {name, baseURL, apiKey}

before(async () => {
  server = await startServer({ model: longContextModel(MODEL), args: ['--served-model-name', MODEL] });
  const cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
pools:
  main:
    upstreams: [{url: ${server.url}, model: ${MODEL}}]
models:
  - {name: ${MODEL}, pool: main}
prices:
  ${MODEL}: {currency: USD, input_per_1k: "0.001", output_per_1k: "0.002"}
tenants:
  sdk: {requests_per_minute: 100000}
`);
  const key = fathom('keys', 'create', '--config', cfg, '--tenant', 'sdk');
  gateway = await Gateway.start(cfg);
  targets.push({ name: 'server', baseURL: server.url + '/v1', apiKey: 'unused' });
  targets.push({ name: 'gateway', baseURL: gateway.url + '/v1', apiKey: key });
});
after(async () => {  // also after a failed start: a server left running would keep the test alive
  await gateway?.stop();
  const code = await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0);
});

const weather = {
  type: 'object',
  properties: { city: { type: 'string', minLength: 1, maxLength: 8 }, celsius: { type: 'integer', minimum: -60, maximum: 60 } },
  required: ['city', 'celsius'],
  additionalProperties: false,
};
const validateWeather = ajv.compile(weather);

for (const provider of ['responses', 'compatible']) {
  const model = (t) => (provider === 'responses'
    ? createOpenAI({ baseURL: t.baseURL, apiKey: t.apiKey })(MODEL)
    : createOpenAICompatible({ name: 'fathom', baseURL: t.baseURL, apiKey: t.apiKey, supportsStructuredOutputs: true })(MODEL));

  test(`Vercel AI SDK (${provider}): generateText and streamText give the same text`, async () => {
    for (const t of targets) {
      const r = await generateText({ model: model(t), prompt: 'Hello!', temperature: 0, maxOutputTokens: 12, maxRetries: 0 });
      assert.ok(r.text.length > 0, t.name);
      assert.equal(r.usage.outputTokens, 12, t.name);
      assert.ok(r.usage.inputTokens > 0, t.name);
      const s = streamText({ model: model(t), prompt: 'Hello!', temperature: 0, maxOutputTokens: 12, maxRetries: 0 });
      let streamed = '';
      for await (const piece of s.textStream) streamed += piece;
      assert.equal(streamed, r.text, t.name);
    }
  });

  test(`Vercel AI SDK (${provider}): structured output validates at temperature 1`, async () => {
    for (const t of targets) {
      for (let seed = 0; seed < 3; seed++) {
        const r = await generateText({ model: model(t), prompt: 'The weather as JSON', temperature: 1, seed, maxRetries: 0,
          output: Output.object({ schema: jsonSchema(weather) }) });
        assert.ok(validateWeather(r.output), `${t.name}: ${JSON.stringify(r.output)}`);
      }
    }
  });

  test(`Vercel AI SDK (${provider}): toolChoice required gives a valid call`, async () => {
    for (const t of targets) {
      const r = await generateText({ model: model(t), prompt: 'Weather in Oslo?', temperature: 1, seed: 4, maxRetries: 0,
        tools: { get_weather: tool({ description: 'Weather in a city', inputSchema: jsonSchema(weather) }) },
        toolChoice: 'required' });
      assert.ok(r.toolCalls.length >= 1, `${t.name}: ${JSON.stringify(r.response?.body ?? r)}`);
      for (const call of r.toolCalls) {
        assert.equal(call.toolName, 'get_weather');
        assert.ok(validateWeather(call.input), `${t.name}: ${JSON.stringify(call.input)}`);
      }
    }
  });
}

for (const useResponsesApi of [false, true]) {
  const chat = (t, extra = {}) => new ChatOpenAI({ model: MODEL, apiKey: t.apiKey, configuration: { baseURL: t.baseURL },
    maxRetries: 0, useResponsesApi, ...extra });

  test(`LangChain ChatOpenAI (useResponsesApi ${useResponsesApi}): invoke, stream, tools, structured output`, async () => {
    for (const t of targets) {
      const m = chat(t, { temperature: 0, maxTokens: 10 });
      const answer = await m.invoke('Hello!');
      assert.equal(typeof answer.content === 'string' ? answer.content.length > 0 : answer.content.length > 0, true, t.name);
      assert.equal(answer.usage_metadata.output_tokens, 10, t.name);
      let streamed = '';
      for await (const chunk of await m.stream('Hello!')) streamed += typeof chunk.content === 'string' ? chunk.content : chunk.content.map((c) => c.text ?? '').join('');
      assert.equal(streamed, answer.text, t.name);

      // (In Responses mode @langchain/openai 1.5 drops bindTools' tool_choice from the request,
      // so only chat mode can ask for a forced call.)
      if (!useResponsesApi) {
        const withTools = chat(t, { temperature: 1 }).bindTools(
          [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: weather } }],
          { tool_choice: 'required' });
        const called = await withTools.invoke('Weather in Oslo?');
        assert.ok(called.tool_calls.length >= 1, `${t.name}: ${JSON.stringify(called)}`);
        for (const call of called.tool_calls) {
          assert.equal(call.name, 'get_weather');
          assert.ok(validateWeather(call.args), `${t.name}: ${JSON.stringify(call.args)}`);
        }
      }

      const structured = chat(t, { temperature: 1 }).withStructuredOutput(
        { title: 'weather', description: 'The weather', ...weather }, { method: 'jsonSchema', strict: true });
      const value = await structured.invoke('The weather as JSON');
      assert.ok(validateWeather(value), `${t.name}: ${JSON.stringify(value)}`);
    }
  });
}
