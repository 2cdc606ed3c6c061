// Baseline: bare Fastify, as in Fastify's own benchmark (JSON reply with a response schema, no logger).
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get(
  '/',
  {
    schema: {
      response: { 200: { type: 'object', properties: { hello: { type: 'string' } } } },
    },
  },
  async () => ({ hello: 'world' }),
);
app
  .listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
  .then((url) => console.log(`fastify-hello listening on ${url}`))
  .catch((error: unknown) => {
    console.error(`fastify-hello failed to start: ${String(error)}`);
    process.exit(1);
  });
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
