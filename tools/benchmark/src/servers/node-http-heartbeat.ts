// Baseline for the registry's heartbeats: a bare node:http server doing the least the same
// messages need (read and parse the JSON body, a Map of ids, 201 with an id or 204/404), so
// the registry's latency under the same generator can be judged against what any Node
// server gets on this machine at that moment. No token check, schema, metrics or expiry.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const lastHeartbeat = new Map<string, { type: string; at: number }>();

function readJson(request: IncomingMessage, then: (body: Record<string, unknown> | undefined) => void) {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    try {
      then(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
    } catch {
      then(undefined);
    }
  });
}

function answer(response: ServerResponse, status: number, body?: string) {
  if (body === undefined) {
    response.writeHead(status);
    response.end();
    return;
  }
  // Content-Length, not chunked: the generator reads only length-delimited answers.
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

const server = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/register') {
    readJson(request, (body) => {
      if (typeof body?.type !== 'string') return answer(response, 400, '{"statusCode":400}');
      const id = randomUUID();
      lastHeartbeat.set(id, { type: body.type, at: Date.now() });
      answer(response, 201, JSON.stringify({ id, heartbeatIntervalMs: 1000, ttlMs: 3000 }));
    });
    return;
  }
  if (request.method === 'POST' && request.url === '/heartbeat') {
    readJson(request, (body) => {
      const entry = typeof body?.id === 'string' ? lastHeartbeat.get(body.id) : undefined;
      if (!entry) return answer(response, 404, '{"statusCode":404}');
      entry.at = Date.now();
      answer(response, 204);
    });
    return;
  }
  if (request.method === 'GET' && request.url === '/services') {
    const services: Record<string, { id: string }[]> = {};
    for (const [id, entry] of lastHeartbeat) (services[entry.type] ??= []).push({ id });
    return answer(response, 200, JSON.stringify({ services }));
  }
  answer(response, 404, '{"statusCode":404}');
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`node-http-heartbeat listening on http://${address}:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
