import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawHead, rawGet } from '../../src/client/raw-get.js';

/** A TCP server that answers every connection with `answer(socket)`: real sockets, hand-made answers. */
async function serve(answer: (socket: net.Socket) => void): Promise<{ url: URL; close: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.once('data', () => answer(socket)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/bucket/key?X-Amz-Signature=abc`), close: () => new Promise((r) => server.close(() => r())) };
}

/** Collects a 200's body (copies: the chunks are views of a reused buffer). */
async function collect(url: URL): Promise<{ head: RawHead | null; body: Buffer; failure: Awaited<ReturnType<typeof rawGet>> }> {
  let head: RawHead | null = null;
  const parts: Buffer[] = [];
  const failure = await rawGet(url, 5000, {
    onHead: (h) => {
      head = h;
      return (chunk) => parts.push(Buffer.from(chunk));
    },
  });
  return { head, body: Buffer.concat(parts), failure };
}

describe('rawGet: the download GET over a plain socket', () => {
  it('sends the signed path, query and host unchanged, as one plain GET', async () => {
    let request = '';
    const capture = net.createServer((socket) => socket.once('data', (d) => { request = d.toString('latin1'); socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'); }));
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    const { port } = capture.address() as net.AddressInfo;
    try {
      const failure = await rawGet(new URL(`http://127.0.0.1:${port}/b/k%20y?X-Amz-Signature=s%2B1`), 5000, { onHead: () => null });
      expect(failure!.head.status).toBe(404);
      expect(request.split('\r\n').slice(0, 2)).toEqual(['GET /b/k%20y?X-Amz-Signature=s%2B1 HTTP/1.1', `Host: 127.0.0.1:${port}`]);
      expect(request.endsWith('\r\n\r\n')).toBe(true);
    } finally {
      await new Promise((r) => capture.close(r));
    }
  });

  it('delivers a Content-Length body in order, over many reads, the head split from the body', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const s = await serve((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nETag: "x"\r\n`);
      setTimeout(() => {
        socket.write('\r\n');
        for (let at = 0; at < body.length; at += 100_003) socket.write(body.subarray(at, at + 100_003));
        socket.end();
      }, 20);
    });
    try {
      const got = await collect(s.url);
      expect(got.failure).toBeNull();
      expect(got.head!.headers.get('etag')).toBe('"x"');
      expect(got.body.length).toBe(body.length);
      expect(createHash('sha256').update(got.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    } finally {
      await s.close();
    }
  });

  it('answers an error status with its body for the message, and a refused 200 without reading it', async () => {
    const xml = '<Error><Code>AccessDenied</Code><Message>no</Message></Error>';
    const s = await serve((socket) => socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`));
    try {
      const got = await collect(s.url);
      expect(got.failure!.head.status).toBe(403);
      expect(got.failure!.body).toContain('<Code>AccessDenied</Code>');
      expect(got.body.length).toBe(0);
    } finally {
      await s.close();
    }
    const big = await serve((socket) => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`));
    try {
      const refused = await rawGet(big.url, 5000, { onHead: () => null });
      expect(refused!.head.status).toBe(200);
      expect(refused!.body).toBe('');
    } finally {
      await big.close();
    }
  });

  it('answers an error without Content-Length (a proxy\'s page) with its status and body, read until the connection closes', async () => {
    const proxy = await serve((socket) => socket.end('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n<Code>AccessDenied</Code>\r\n0\r\n\r\n'));
    try {
      const got = await collect(proxy.url);
      expect(got.failure!.head.status).toBe(403);
      expect(got.failure!.body).toContain('<Code>AccessDenied</Code>');
    } finally {
      await proxy.close();
    }
  });

  it('refuses a 200 without Content-Length, and fails a connection that ends early (retryable, ECONNRESET)', async () => {
    const chunked = await serve((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'));
    const short = await serve((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'));
    const garbage = await serve((socket) => socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    try {
      await expect(collect(chunked.url)).rejects.toMatchObject({ code: 'BAD_RESPONSE', message: expect.stringMatching(/Content-Length/) });
      await expect(collect(short.url)).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/91 bytes of the body missing/) });
      await expect(collect(garbage.url)).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
      await expect(collect(new URL('http://127.0.0.1:1/x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await Promise.all([chunked.close(), short.close(), garbage.close()]);
    }
  });

  it('ends a stalled answer after the idle time (ETIMEDOUT)', async () => {
    const stalled = await serve((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome'));
    try {
      await expect(rawGet(stalled.url, 300, { onHead: () => () => {} })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await stalled.close();
    }
  });

  describe('over TLS', () => {
    let dir = '';
    let server: https.Server | null = null;
    let url: URL;
    const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
    beforeAll(async () => {
      if (!openssl) return;
      dir = mkdtempSync(join(tmpdir(), 'raw-get-tls-'));
      execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
      server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      url = new URL(`https://localhost:${(server.address() as net.AddressInfo).port}/x`);
    });
    afterAll(async () => {
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.skipIf(!openssl)('verifies the server certificate: a self-signed one is refused, nothing is read (needs the openssl binary)', async () => {
      await expect(collect(url)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    });
  });
});
