// One assistant answer built from chat.completion.chunk events: content, reasoning_content,
// tool calls (arguments arrive in pieces, by index), usage, finish reason and the timings the
// page shows (time to first token, tokens per second). Pure: no DOM.

export function newAnswer(startedMs) {
  return { content: '', reasoning: '', toolCalls: [], finishReason: null, usage: null, error: null,
    startedMs, firstTokenMs: null, endedMs: null, chunks: 0 };
}

/** Folds one chunk into `a` at time `nowMs`; returns `a`. */
export function applyChunk(a, chunk, nowMs) {
  if (chunk.error) {
    a.error = chunk.error.message || JSON.stringify(chunk.error);
    return a;
  }
  if (chunk.usage) a.usage = chunk.usage;
  for (const choice of chunk.choices || []) {
    const d = choice.delta || {};
    const got = (d.content || '') + (d.reasoning_content || '') + (d.reasoning || '');
    if (got || d.tool_calls) {
      if (a.firstTokenMs === null) a.firstTokenMs = nowMs;
      a.chunks++;
    }
    if (d.content) a.content += d.content;
    if (d.reasoning_content) a.reasoning += d.reasoning_content;
    else if (d.reasoning) a.reasoning += d.reasoning;
    for (const tc of d.tool_calls || []) {
      const i = tc.index ?? a.toolCalls.length;
      const call = (a.toolCalls[i] ||= { id: '', name: '', arguments: '' });
      if (tc.id) call.id = tc.id;
      if (tc.function?.name) call.name += tc.function.name;
      if (tc.function?.arguments) call.arguments += tc.function.arguments;
    }
    if (choice.finish_reason) a.finishReason = choice.finish_reason;
  }
  return a;
}

/** {completionTokens, promptTokens, ttftMs, tokensPerS} once the answer ended. */
export function answerStats(a) {
  const completionTokens = a.usage?.completion_tokens ?? a.chunks;
  const ttftMs = a.firstTokenMs === null ? null : a.firstTokenMs - a.startedMs;
  const genMs = a.firstTokenMs === null || a.endedMs === null ? 0 : a.endedMs - a.firstTokenMs;
  // Tokens after the first over the time they took: the decode speed a user feels.
  const tokensPerS = genMs > 0 && completionTokens > 1 ? ((completionTokens - 1) * 1000) / genMs : null;
  return { completionTokens, promptTokens: a.usage?.prompt_tokens ?? null, ttftMs, tokensPerS };
}

/** "42 tokens · 310.5 tok/s · TTFT 38 ms" */
export function formatStats(s) {
  const parts = [`${s.completionTokens} token${s.completionTokens === 1 ? '' : 's'}`];
  if (s.promptTokens !== null) parts.push(`prompt ${s.promptTokens}`);
  if (s.tokensPerS !== null) parts.push(`${s.tokensPerS.toFixed(1)} tok/s`);
  if (s.ttftMs !== null) parts.push(`TTFT ${Math.round(s.ttftMs)} ms`);
  return parts.join(' · ');
}
