// The collector benchmark's baseline: a bare Fastify server answering POST /v1/traces with 200, the
// body read whole as a buffer and dropped, neither decoded nor stored. What HTTP alone costs on this
// machine, with the same body limit.
//
//   node --import tsx bench/bare-otlp-server.ts --port 0 --max-body-bytes 20971520
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'max-body-bytes': { type: 'string', default: String(20 * 1024 * 1024) } } });
const app = Fastify({ bodyLimit: Number(values['max-body-bytes']) });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
// an empty ExportTraceServiceResponse, in the request's encoding
app.post('/v1/traces', async (request, reply) =>
  request.headers['content-type'] === 'application/json' ? reply.type('application/json').send('{}') : reply.type('application/x-protobuf').send(Buffer.alloc(0)),
);
const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) });
console.log(`bare OTLP server listening on ${address}`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
