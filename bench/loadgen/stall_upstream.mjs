// Self-check fixture for fathom_loadgen's coordinated-omission correction: an HTTP server that
// answers every request with a small JSON body, except that every STALL_EVERY-th request
// (default 100) stalls for STALL_MS (default 200). STALL_MODE=block (default) freezes the whole
// server for that time, as a GC pause or a blocked event loop would; STALL_MODE=delay only
// delays that one response. Prints "listening on http://127.0.0.1:PORT".
//   node bench/loadgen/stall_upstream.mjs [port]
import http from 'node:http';

const EVERY = Number(process.env.STALL_EVERY ?? 100);
const STALL_MS = Number(process.env.STALL_MS ?? 200);
const MODE = process.env.STALL_MODE ?? 'block';
const body = '{"ok":true}';
let count = 0;

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    count += 1;
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    };
    if (count % EVERY !== 0) return answer();
    if (MODE === 'delay') return setTimeout(answer, STALL_MS);
    const until = Date.now() + STALL_MS;
    while (Date.now() < until) { /* the event loop is frozen: nothing else is served */ }
    answer();
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
