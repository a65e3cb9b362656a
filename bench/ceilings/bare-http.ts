import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Ceiling: bare node:http answering a fixed 300-byte JSON body to every request. */
const filler = 'x'.repeat(300 - JSON.stringify({ status: 'ok', data: '' }).length);
const body = Buffer.from(JSON.stringify({ status: 'ok', data: filler }));
if (body.length !== 300) throw new Error(`ceiling body is ${body.length} bytes`);

const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`Ceiling ready at http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
