import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseByteRange } from './byte-range.js';
import { reply } from './http-reply.js';
import type { ArtifactCodec, ArtifactFile } from './encryption/artifact-file.js';

/**
 * Artifacts are served from the registry's own origin, where the console lives: always as a
 * download, never rendered, whatever type was declared (an HTML or SVG artifact would otherwise
 * run in the registry's origin).
 */
const ARTIFACT_RESPONSE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "sandbox; default-src 'none'",
  'Cache-Control': 'private, no-store',
} as const;

/** `attachment` with the artifact's file name, ASCII-safe, and the exact name per RFC 6266. */
function attachment(file: string): string {
  const name = basename(file);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * GET or HEAD of a verified artifact: the whole file, or one byte range (206, so an interrupted
 * download resumes), with its sha256 as a strong ETag when the URL was signed with it. A final
 * artifact never changes, so `If-Range` and `If-None-Match` compare with that ETag.
 * Sizes and ranges are of the plaintext; an encrypted file is decrypted as it is sent, only the
 * chunks a range covers, and a chunk that fails to decrypt ends the response before its bytes.
 */
export async function sendArtifact(
  req: IncomingMessage, res: ServerResponse, codec: ArtifactCodec, file: string, contentType: string, sha256: string | null,
): Promise<true> {
  let opened: ArtifactFile;
  try {
    opened = await codec.open(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reply(res, 404, 'no such artifact');
    throw err; // damaged: a 500, logged, and no byte of it served
  }
  const size = opened.size;
  const etag = sha256 === null ? null : `"${sha256}"`;
  const headers: Record<string, string | number> = {
    ...ARTIFACT_RESPONSE_HEADERS, 'Content-Type': contentType, 'Content-Disposition': attachment(file), 'Accept-Ranges': 'bytes',
  };
  if (etag) headers.ETag = etag;
  if (etag && req.headers['if-none-match']?.split(',').some((t) => t.trim() === etag)) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || (etag !== null && ifRange === etag) ? parseByteRange(req.headers.range, size) : null;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    res.end();
    return true;
  }
  if (range === null) res.writeHead(200, { ...headers, 'Content-Length': size });
  else res.writeHead(206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': range.end - range.start + 1 });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return true;
  }
  await pipeline(opened.stream(range), res);
  return true;
}
