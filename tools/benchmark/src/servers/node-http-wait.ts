// Baseline for watchers: a bare node:http server that holds every GET /wait until POST /release,
// then answers them all at once. GET /waiting says how many it holds.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const held = new Set<ServerResponse>();
const body = JSON.stringify({
  type: 'bench-watched',
  instances: [
    {
      id: '00000000-0000-4000-8000-000000000000',
      url: 'http://127.0.0.1:20000',
      registeredAt: new Date().toISOString(),
      lastHeartbeatAt: new Date().toISOString(),
    },
  ],
});
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/wait') {
    held.add(response);
    response.on('close', () => held.delete(response));
    return;
  }
  if (request.method === 'GET' && request.url === '/waiting') {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ waiting: held.size }));
    return;
  }
  if (request.method === 'POST' && request.url === '/release') {
    for (const waiting of held) {
      waiting.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      waiting.end(body);
    }
    held.clear();
    response.writeHead(204);
    response.end();
    return;
  }
  response.writeHead(404);
  response.end();
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`node-http-wait listening on http://${address}:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
