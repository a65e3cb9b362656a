import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * A webhook receiver in its own process (started by webhook-receiver.ts): it answers every POST
 * with the status it is told to, after the delay it is told to, and appends one JSON line per
 * request to RECEIVER_LOG when it answers, with how many requests to the same path were in flight
 * when it arrived. POST /_control { status, failFirst, delayMs } changes its behaviour.
 */
const log = process.env.RECEIVER_LOG!;
let status = 200;
let failFirst = 0;
let delayMs = 0;
const inFlight = new Map<string, number>();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/_inflight') {
      res.end(String([...inFlight.values()].reduce((a, b) => a + b, 0)));
      return;
    }
    if (req.url === '/_control') {
      const c = JSON.parse(body) as { status?: number; failFirst?: number; delayMs?: number };
      status = c.status ?? status;
      failFirst = c.failFirst ?? failFirst;
      delayMs = c.delayMs ?? delayMs;
      res.end('ok');
      return;
    }
    const path = req.url ?? '/';
    const concurrent = (inFlight.get(path) ?? 0) + 1;
    inFlight.set(path, concurrent);
    const start = Date.now();
    const answer = failFirst > 0 ? (failFirst--, 500) : status;
    setTimeout(() => {
      inFlight.set(path, (inFlight.get(path) ?? 1) - 1);
      appendFileSync(log, `${JSON.stringify({
        path, method: req.method, status: answer, start, end: Date.now(), concurrent, body,
        eventId: req.headers['x-registry-event-id'] ?? null, signature: req.headers['x-registry-signature'] ?? null,
      })}\n`);
      res.statusCode = answer;
      // A redirect points at another path of this receiver: a request there would show it was followed.
      if (answer >= 300 && answer < 400) res.setHeader('location', '/redirected');
      res.end(answer === 200 ? 'thanks' : 'x'.repeat(5000));
    }, delayMs);
  });
});

server.listen(Number(process.env.RECEIVER_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`receiver listening on ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
