// Benchmark fixture: a fast OpenAI-compatible upstream. Answers POST /v1/chat/completions with
// a canned chat.completion body (with usage, so the gateway bills it) and GET /health with 200.
// Prints "listening on http://127.0.0.1:PORT" once ready. Usage: node fast_upstream.mjs [port]
import http from 'node:http';

const body = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1795000000, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fast upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.endsWith('/health')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    res.end('{"status":"ok"}');
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
