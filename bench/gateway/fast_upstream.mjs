// Benchmark fixture: a fast OpenAI-compatible upstream. Answers POST /v1/chat/completions with
// a canned chat.completion body (with usage, so the gateway bills it) and GET /health with 200.
// A request with "stream": true gets a text/event-stream of chat.completion.chunk events
// instead: a role chunk, STREAM_CHUNKS content chunks (default 16) STREAM_INTERVAL_MS apart
// (default 20; 0 = back to back), a finish_reason "stop" chunk, a usage chunk when the request
// asked for stream_options.include_usage, then `data: [DONE]`.
// Prints "listening on http://127.0.0.1:PORT" once ready. Usage: node fast_upstream.mjs [port]
import http from 'node:http';

const STREAM_CHUNKS = Number(process.env.STREAM_CHUNKS ?? 16);
const STREAM_INTERVAL_MS = Number(process.env.STREAM_INTERVAL_MS ?? 20);

const body = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1795000000, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fast upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

const words = ['Hello', ' from', ' the', ' fast', ' upstream', '.'];
const event = (fields) => `data: ${JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1795000000, model: 'bench', ...fields,
})}\n\n`;
const chunk = (delta, finishReason = null) => event({ choices: [{ index: 0, delta, finish_reason: finishReason }] });

function stream(res, includeUsage) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(chunk({ role: 'assistant', content: '' }));
  let sent = 0;
  let timer = null;
  res.on('close', () => clearTimeout(timer));  // client gone mid-stream (or normal end): stop
  const next = () => {
    timer = null;
    if (res.destroyed) return;
    while (sent < STREAM_CHUNKS) {
      res.write(chunk({ content: words[sent % words.length] }));
      sent += 1;
      if (STREAM_INTERVAL_MS > 0) {
        timer = setTimeout(next, STREAM_INTERVAL_MS);
        return;
      }
    }
    res.write(chunk({}, 'stop'));
    if (includeUsage) {
      res.write(event({
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: STREAM_CHUNKS, total_tokens: 12 + STREAM_CHUNKS },
      }));
    }
    res.end('data: [DONE]\n\n');
  };
  if (STREAM_INTERVAL_MS > 0) timer = setTimeout(next, STREAM_INTERVAL_MS);
  else next();
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.endsWith('/health')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    res.end('{"status":"ok"}');
    return;
  }
  const parts = [];
  req.on('data', (part) => parts.push(part));
  req.on('end', () => {
    const text = Buffer.concat(parts).toString('utf8');
    let request = null;
    try {
      if (text.includes('"stream"')) request = JSON.parse(text);  // the common case skips parsing
    } catch {
      // not JSON: answer with the canned body like any other request
    }
    if (request?.stream === true) {
      stream(res, request.stream_options?.include_usage === true);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// server.maxConnections stays unset (no cap): the streams benchmark holds thousands of sockets
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
