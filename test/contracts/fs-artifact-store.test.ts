import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsArtifactRoutes } from '../../src/artifacts/fs-artifact.http.js';
import { FsArtifactStore } from '../../src/artifacts/fs-artifact.store.js';
import { describeArtifactStore } from './artifact-store.contract.js';

/** The filesystem store, its signed URLs served by a real node:http server on 127.0.0.1. */
describeArtifactStore('FsArtifactStore (temp dir, node:http on 127.0.0.1)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fs-artifacts-'));
  let base: string | null = null;
  const store = await FsArtifactStore.open({
    root,
    publicUrl: () => {
      if (base === null) throw new Error('server is not listening yet');
      return base;
    },
  });
  const routes = fsArtifactRoutes(store, async () => true);
  const server = createServer((req, res) => {
    routes(req, res, new URL(req.url ?? '/', 'http://127.0.0.1'))
      .then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(root, { recursive: true, force: true });
    },
  };
});
