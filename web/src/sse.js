// Server-sent events from a fetch() body: the `data:` payload of each event, until [DONE].

/** Splits `buffer` into complete events; returns [payloads, rest]. */
export function splitEvents(buffer) {
  const payloads = [];
  const text = buffer.replace(/\r\n?/g, '\n');
  let at = 0;
  for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n', at)) {
    const data = text.slice(at, end).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length) payloads.push(data.join('\n'));  // comments (": keep-alive") carry none
    at = end + 2;
  }
  return [payloads, text.slice(at)];
}

/** Yields each event's parsed JSON; stops at [DONE] or the end of the body. */
export async function* readSse(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const [payloads, rest] = splitEvents(buffer);
    buffer = rest;
    for (const p of payloads) {
      if (p === '[DONE]') return;
      yield JSON.parse(p);
    }
  }
}
