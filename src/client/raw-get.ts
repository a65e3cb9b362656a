import net from 'node:net';
import tls from 'node:tls';

/**
 * A GET of one presigned URL over a plain socket, for downloads. Node's `http` module allocates a
 * new buffer per socket read and emits each body chunk as an event through a stream: receiving
 * alone cost about 1.9 ms of CPU per MiB here, twice what curl spends receiving *and* writing.
 * Reading into one reused 64 KiB buffer (the socket's `onread` option, also on TLS) costs about
 * 0.3 ms/MiB; the buffer stays in the CPU's cache while it is hashed and copied to the file (a
 * 1 MiB buffer made each write cost twice as much). The request is the simplest HTTP/1.1 one
 * (`Connection: close`, no body); a 200 must frame its body with Content-Length (S3, MinIO and
 * the registry do for objects), else it is refused as a bad response; an error answer may not.
 */

const READ_BUFFER = 64 * 1024;
const MAX_HEAD = 64 * 1024;
/** An error answer's body is kept up to this size (for its message). */
const MAX_ERROR_BODY = 16 * 1024;

export interface RawHead {
  status: number;
  headers: Map<string, string>;
}

export interface RawGetHandlers {
  /**
   * Called once with a 200's status and headers; returns the consumer of its body (each call gets
   * a view of a buffer that is reused after it returns: use it synchronously; throw to abort), or
   * null to refuse the answer without reading its body (rawGet then resolves with it as a failure).
   */
  onHead(head: RawHead): ((chunk: Buffer) => void) | null;
}

export class RawGetError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A non-200 answer: its status, headers and (bounded) body, for the caller to turn into an error. */
export interface RawFailure {
  head: RawHead;
  body: string;
}

/**
 * GETs `url`, feeding a 200's body to the consumer `onHead` returns. Resolves with null after the
 * whole body (Content-Length bytes), or with the failure for any other status (or a refused 200).
 * Rejects with a RawGetError (code ECONNRESET, ETIMEDOUT, BAD_RESPONSE...) when the connection
 * fails or ends early, or with what the consumer threw.
 */
export function rawGet(url: URL, idleMs: number, handlers: RawGetHandlers): Promise<RawFailure | null> {
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || (secure ? 443 : 80);
  return new Promise((resolve, reject) => {
    let head: RawHead | null = null;
    let headBytes: Buffer = Buffer.alloc(0);
    let consume: ((chunk: Buffer) => void) | null = null;
    let left = 0;
    let unframed = false;
    let errorBody = '';
    let settled = false;
    const finish = (err: unknown, value?: RawFailure | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const onBody = (chunk: Buffer) => {
      const body = chunk.subarray(0, Math.min(chunk.length, left));
      left -= body.length;
      if (consume) consume(body);
      else if (errorBody.length < MAX_ERROR_BODY) errorBody += body.toString('utf8');
      if (left === 0) finish(null, consume ? null : { head: head!, body: errorBody });
    };
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER),
      callback: (n: number, buffer: Uint8Array): boolean => {
        if (settled) return false;
        try {
          const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, n);
          if (head) {
            onBody(chunk);
            return true;
          }
          headBytes = Buffer.concat([headBytes, chunk]);
          const end = headBytes.indexOf('\r\n\r\n');
          if (end < 0) {
            if (headBytes.length > MAX_HEAD) throw new RawGetError('the answer\'s headers are too long', 'BAD_RESPONSE');
            return true;
          }
          head = parseHead(headBytes.subarray(0, end).toString('latin1'));
          const length = head.headers.get('content-length');
          const framed = length !== undefined && /^\d+$/.test(length) && !head.headers.has('transfer-encoding');
          if (!framed && head.status === 200) {
            throw new RawGetError(`the answer (HTTP ${head.status}) does not frame its body with Content-Length`, 'BAD_RESPONSE');
          }
          // An error answer without a length (a proxy's page, chunked): its body is read until the
          // connection closes (Connection: close), its first MAX_ERROR_BODY bytes kept for the message.
          unframed = !framed;
          left = framed ? Number(length) : Number.MAX_SAFE_INTEGER;
          const rest = headBytes.subarray(end + 4);
          headBytes = Buffer.alloc(0);
          if (head.status === 200) {
            consume = handlers.onHead(head);
            if (!consume) finish(null, { head, body: '' }); // refused by the caller: the body is not read
          }
          if (settled) return false;
          if (left === 0) finish(null, consume ? null : { head, body: '' });
          else if (rest.length) onBody(rest);
        } catch (err) {
          finish(err);
        }
        return !settled;
      },
    };
    const options = { host, port, onread, timeout: idleMs };
    const socket = secure ? tls.connect({ ...options, servername: net.isIP(host) ? undefined : host }) : net.connect(options);
    // An unframed error answer ends with its connection: what was read of it is the answer.
    const unframedEnd = () => unframed && (finish(null, { head: head!, body: errorBody }), true);
    socket.once('error', (err: NodeJS.ErrnoException) => unframedEnd() || finish(new RawGetError(err.message, err.code ?? 'ECONNRESET')));
    socket.once('timeout', () => finish(new RawGetError(`idle for ${idleMs / 1000} s`, 'ETIMEDOUT')));
    socket.once('close', () => unframedEnd() || finish(new RawGetError(head ? `the connection closed with ${left} bytes of the body missing` : 'the connection closed before an answer', 'ECONNRESET')));
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept-Encoding: identity\r\nUser-Agent: model-registry-client\r\nConnection: close\r\n\r\n`);
  });
}

function parseHead(text: string): RawHead {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new RawGetError('the answer is not HTTP/1.x', 'BAD_RESPONSE');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers };
}
