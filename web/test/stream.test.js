import { describe, expect, test } from 'vitest';
import { applyChunk, answerStats, formatStats, newAnswer } from '../src/answer.js';
import { toCsv } from '../src/csv.js';
import { buildRequest } from '../src/request.js';
import { splitEvents } from '../src/sse.js';

describe('sse', () => {
  test('splits complete events, keeps the partial one, skips comments', () => {
    const [events, rest] = splitEvents('data: {"a":1}\n\n: keep-alive\n\ndata: [DONE]\r\n\r\ndata: {"b"');
    expect(events).toEqual(['{"a":1}', '[DONE]']);
    expect(rest).toBe('data: {"b"');
  });
});

describe('answer', () => {
  test('folds content, reasoning, tool calls and usage; stats from usage and timings', () => {
    const a = newAnswer(1000);
    applyChunk(a, { choices: [{ delta: { reasoning_content: 'think' } }] }, 1050);
    applyChunk(a, { choices: [{ delta: { content: 'Hel' } }] }, 1100);
    applyChunk(a, { choices: [{ delta: { content: 'lo' } }] }, 1150);
    applyChunk(a, { choices: [{ delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'get', arguments: '{"q":' } }] } }] }, 1200);
    applyChunk(a, { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] }, finish_reason: 'tool_calls' }] }, 1250);
    applyChunk(a, { choices: [], usage: { prompt_tokens: 7, completion_tokens: 11 } }, 1260);
    a.endedMs = 1550;
    expect(a.content).toBe('Hello');
    expect(a.reasoning).toBe('think');
    expect(a.toolCalls).toEqual([{ id: 'c1', name: 'get', arguments: '{"q":1}' }]);
    expect(a.finishReason).toBe('tool_calls');
    const s = answerStats(a);
    expect(s).toEqual({ completionTokens: 11, promptTokens: 7, ttftMs: 50, tokensPerS: 20 });
    expect(formatStats(s)).toBe('11 tokens · prompt 7 · 20.0 tok/s · TTFT 50 ms');
  });

  test('an error event is kept', () => {
    const a = applyChunk(newAnswer(0), { error: { message: 'upstream timed out' } }, 5);
    expect(a.error).toBe('upstream timed out');
  });
});

describe('request', () => {
  const base = { model: 'm', system: '', temperature: '', top_p: '', max_tokens: '', seed: '', schema: '', extra: '' };
  test('parameters, schema and extra fields', () => {
    const body = buildRequest({ ...base, system: 'be brief', temperature: '0.5', seed: '7', schema: '{"type":"object"}', extra: '{"ignore_eos":true}' },
      [{ role: 'user', content: 'hi' }]);
    expect(body.messages).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }]);
    expect(body.temperature).toBe(0.5);
    expect(body.seed).toBe(7);
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object' } } });
    expect(body.ignore_eos).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });
  test('bad fields are named', () => {
    expect(() => buildRequest({ ...base, schema: '{' }, [])).toThrow(/JSON Schema/);
    expect(() => buildRequest({ ...base, extra: '[1]' }, [])).toThrow(/More request fields: must be a JSON object/);
    expect(() => buildRequest({ ...base, max_tokens: 'abc' }, [])).toThrow(/max_tokens/);
  });
});

describe('csv', () => {
  test('quotes what needs it and defuses formulas', () => {
    expect(toCsv([{ a: 'x,y', b: '=cmd()', c: -3, d: 'say "hi"' }], ['a', 'b', 'c', 'd']))
      .toBe('a,b,c,d\r\n"x,y",\'=cmd(),-3,"say ""hi"""\r\n');
  });
});
